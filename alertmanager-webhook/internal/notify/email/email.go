// Package email sends incidentd notifications as plain-text mail over SMTP, with STARTTLS
// when the server offers it and PLAIN authentication when configured.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/opscentre/opscentre/alertmanager-webhook/internal/notify"
)

// Config is an email channel.
type Config struct {
	Smarthost string        `yaml:"smarthost" json:"smarthost"` // host:port
	From      string        `yaml:"from" json:"from"`
	To        []string      `yaml:"to" json:"to"`
	Username  string        `yaml:"username" json:"username"`
	Password  notify.Secret `yaml:"password" json:"password"`
	Timeout   time.Duration `yaml:"timeout" json:"timeout"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Smarthost); err != nil {
		return fmt.Errorf("email.smarthost: expected host:port, got %q", c.Smarthost)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("email.from: expected an address, got %q", c.From)
	}
	if len(c.To) == 0 {
		return fmt.Errorf("email.to: at least one address")
	}
	for i, t := range c.To {
		if _, err := mail.ParseAddress(t); err != nil {
			return fmt.Errorf("email.to[%d]: expected an address, got %q", i, t)
		}
	}
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("email.password: username and password go together")
	}
	return nil
}

// Notifier sends mail.
type Notifier struct {
	c   Config
	now func() time.Time
}

// New builds the notifier.
func New(c Config, now func() time.Time) *Notifier {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Notifier{c: c, now: now}
}

// Subject is the mail's subject line.
func Subject(m notify.Message) string {
	verb := map[string]string{notify.KindResolve: "RESOLVED", notify.KindAck: "ACKNOWLEDGED", notify.KindQueue: "QUEUED", notify.KindBacklog: "BACKLOG"}[m.Kind]
	if verb == "" {
		verb = "FIRING"
	}
	return fmt.Sprintf("[%s %s] %s (incident #%d)", verb, m.Tier, oneLine(m.Title), m.IncidentID)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Body is the mail's text.
func Body(m notify.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", oneLine(m.Title))
	if m.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", m.Summary)
	}
	for _, kv := range [][2]string{{"Tier", m.Tier}, {"Team", m.Team}, {"Model", m.Model}, {"State", m.State}, {"Paged", m.Recipient}, {"Runbook", m.RunbookURL}, {"Incident", m.IncidentURL}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%-9s %s\n", kv[0]+":", oneLine(kv[1]))
		}
	}
	if m.LikelyCauses != "" {
		fmt.Fprintf(&b, "\nLikely causes: %s\n", oneLine(m.LikelyCauses))
	}
	return b.String()
}

func (n *Notifier) message(m notify.Message) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	host, _, _ := net.SplitHostPort(n.c.Smarthost)
	fmt.Fprintf(&b, "From: %s\r\n", n.c.From)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(n.c.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", Subject(m)))
	fmt.Fprintf(&b, "Date: %s\r\n", n.now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	// The SMTP client's DATA writer dot-stuffs lines and ends the data itself.
	for _, line := range strings.Split(Body(m), "\n") {
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}

// Notify implements notify.Notifier. SMTP 4xx replies and network errors are transient;
// 5xx replies are not.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (bool, error) {
	err := n.send(ctx, m)
	if err == nil {
		return false, nil
	}
	var tp *textproto.Error
	retry := true
	if errors.As(err, &tp) {
		retry = tp.Code < 500
	}
	return retry, fmt.Errorf("email: %w", notify.Redact(err, n.Secrets()...))
}

func (n *Notifier) send(ctx context.Context, m notify.Message) error {
	d := net.Dialer{Timeout: n.c.Timeout}
	conn, err := d.DialContext(ctx, "tcp", n.c.Smarthost)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(n.c.Timeout))
	host, _, _ := net.SplitHostPort(n.c.Smarthost)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if n.c.Username != "" {
		// net/smtp refuses PLAIN without TLS except to localhost, which keeps the password
		// off the wire in clear.
		if err := c.Auth(smtp.PlainAuth("", n.c.Username, n.c.Password.Value(), host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(n.c.From); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, to := range n.c.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(n.message(m)); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return c.Quit()
}

// Secrets implements notify.SecretHolder: the SMTP password.
func (n *Notifier) Secrets() []string { return []string{n.c.Password.Value()} }
