package config

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Holder keeps the current configuration and swaps it atomically on reload, publishing
// aiops_exporter_config_last_reload_successful and its timestamp. A failed reload keeps
// the previous configuration.
type Holder struct {
	path    string
	now     func() time.Time
	cur     atomic.Pointer[Config]
	success prometheus.Gauge
	stamp   prometheus.Gauge
}

// NewHolder loads path (empty: embedded defaults) and registers the reload metrics on reg.
func NewHolder(path string, reg prometheus.Registerer, now func() time.Time) (*Holder, error) {
	h := &Holder{
		path: path,
		now:  now,
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aiops_exporter_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful (1) or not (0).",
		}),
		stamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aiops_exporter_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration reload.",
		}),
	}
	if reg != nil {
		reg.MustRegister(h.success, h.stamp)
	}
	if err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Get returns the current configuration; callers must not modify it.
func (h *Holder) Get() *Config { return h.cur.Load() }

// Path is the configuration file path ("" when running on defaults).
func (h *Holder) Path() string { return h.path }

// Reload re-reads the file. On error the current configuration stays in force.
func (h *Holder) Reload() error {
	c, err := Load(h.path)
	if err != nil {
		h.success.Set(0)
		return err
	}
	h.cur.Store(c)
	h.success.Set(1)
	h.stamp.Set(float64(h.now().UnixNano()) / 1e9)
	return nil
}
