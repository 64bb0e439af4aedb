package email

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
	"github.com/opscentre/opscentre/test/notifytest"
)

// smtpServer is a minimal SMTP server (RFC 5321 subset: EHLO, AUTH PLAIN, MAIL, RCPT,
// DATA, QUIT) recording what it receives. rcptCode, when set, is the reply to RCPT.
type smtpServer struct {
	l        net.Listener
	mu       sync.Mutex
	mails    []received
	rcptCode string
}

type received struct {
	auth, from string
	to         []string
	data       string
}

func startSMTP(t *testing.T, rcptCode string) *smtpServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpServer{l: l, rcptCode: rcptCode}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(format string, a ...any) { fmt.Fprintf(c, format+"\r\n", a...) }
	say("220 fake ESMTP")
	var m received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case cmd == "EHLO":
			say("250-fake greets you")
			say("250 AUTH PLAIN")
		case cmd == "AUTH":
			m.auth = strings.TrimPrefix(line, "AUTH PLAIN ")
			say("235 ok")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			m.from = line[len("MAIL FROM:"):]
			say("250 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			if s.rcptCode != "" {
				say("%s no", s.rcptCode)
				continue
			}
			m.to = append(m.to, line[len("RCPT TO:"):])
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			m = received{}
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

const password = "p4ssw0rd-very-secret"

func TestSendsMail(t *testing.T) {
	srv := startSMTP(t, "")
	cfg := Config{Smarthost: srv.l.Addr().String(), From: "incidentd@example.org", To: []string{"oncall@example.org", "lead@example.org"}, Username: "incidentd", Password: password}
	require.NoError(t, cfg.Validate())
	now := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	n := New(cfg, func() time.Time { return now })
	m := notify.Message{Kind: notify.KindTrigger, IncidentID: 7, Title: "Accuracy drop", Summary: "accuracy fell\n.\nto 0.7", Tier: "P1", Team: "risk", Recipient: "alice", RunbookURL: "https://runbooks/acc"}
	retry, err := n.Notify(context.Background(), m)
	require.NoError(t, err)
	require.False(t, retry)
	got := srv.got()
	require.Len(t, got, 1)
	auth, err := base64.StdEncoding.DecodeString(got[0].auth)
	require.NoError(t, err)
	require.Equal(t, "\x00incidentd\x00"+password, string(auth))
	require.Equal(t, "<incidentd@example.org>", got[0].from)
	require.Equal(t, []string{"<oncall@example.org>", "<lead@example.org>"}, got[0].to)
	require.Contains(t, got[0].data, "Subject: [FIRING P1] Accuracy drop (incident #7)\r\n")
	require.Contains(t, got[0].data, "Date: Sun, 29 Nov 2026 03:00:00 +0000\r\n")
	require.Contains(t, got[0].data, "accuracy fell\r\n..\r\nto 0.7\r\n", "a lone dot is stuffed on the wire")
	require.Contains(t, got[0].data, "Paged:    alice\r\n")
	require.Contains(t, got[0].data, "Runbook:  https://runbooks/acc\r\n")
}

func TestTransientAndPermanentFailures(t *testing.T) {
	for code, retry := range map[string]bool{"450": true, "550": false} {
		srv := startSMTP(t, code)
		cfg := Config{Smarthost: srv.l.Addr().String(), From: "a@example.org", To: []string{"b@example.org"}, Username: "u", Password: password}
		got, err := New(cfg, nil).Notify(context.Background(), notify.Message{Tier: "P1", Title: "x"})
		require.Error(t, err)
		require.Equal(t, retry, got, code)
		logger, logs := notifytest.Logger()
		logger.Error("email", "err", err, "cfg", cfg)
		notifytest.NoSecret(t, []string{password}, err, logs, cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	retry, err := New(Config{Smarthost: addr, From: "a@example.org", To: []string{"b@example.org"}}, nil).Notify(context.Background(), notify.Message{})
	require.Error(t, err)
	require.True(t, retry, "connection refused is transient")
	require.ErrorContains(t, Config{Smarthost: "nohost", From: "a@b.c", To: []string{"x@y.z"}}.Validate(), "email.smarthost")
}
