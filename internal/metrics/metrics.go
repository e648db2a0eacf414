// Package metrics holds the Prometheus metrics of a trcledger server
// (github.com/prometheus/client_golang): requests per route pattern and status, group-commit
// sizes, import outcomes, the sealer's and the report refresher's lag, the database pool and the
// Go runtime. No label ever carries an id, a token or a patient: routes are patterns
// (/v1/encounters/:id), statuses and outcomes are small fixed sets.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's registry and the series the code observes directly.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	groups    prometheus.Histogram
	imported  *prometheus.CounterVec
	jobs      *prometheus.CounterVec // import jobs by outcome (import_jobs.go)
}

// Lags report how far background work is behind, read at scrape time.
type Lags struct {
	// Sealer is the age of the oldest ledger transaction not sealed into the hash chain yet.
	Sealer func(context.Context) (time.Duration, error)
	// Reports is the age of the oldest change not folded into the kept report months yet.
	Reports func(context.Context) (time.Duration, error)
}

// New registers every series: the Go runtime and process, the pool of db, and the lags.
func New(db *sql.DB, lags Lags) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trcledger_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trcledger_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		groups: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trcledger_group_commit_size",
			Help:    "Single posts written together by one group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		imported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trcledger_import_encounters_total",
			Help: "Encounters of CSV imports, by outcome (accepted, skipped, rejected).",
		}, []string{"outcome"}),
	}
	m.jobs = newImportJobs()
	m.reg.MustRegister(m.requests, m.durations, m.groups, m.imported, m.jobs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db, "trcledger"))
	for name, f := range map[string]func(context.Context) (time.Duration, error){
		"trcledger_sealer_lag_seconds":         lags.Sealer,
		"trcledger_report_refresh_lag_seconds": lags.Reports,
	} {
		if f == nil {
			continue
		}
		help := map[string]string{
			"trcledger_sealer_lag_seconds":         "Age of the oldest ledger transaction not yet sealed into the hash chain (0 when none).",
			"trcledger_report_refresh_lag_seconds": "Age of the oldest change not yet folded into the kept report months (0 when none).",
		}[name]
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, lagReader(f)))
	}
	// Every series exists from the start, so a scrape before the first import shows it.
	for _, o := range []string{"accepted", "skipped", "rejected"} {
		m.imported.WithLabelValues(o)
	}
	return m
}

// lagReader reads a lag with a short deadline; an error reads as -1, so that an alert on "lag
// too high" is not silenced by a database that does not answer (alert on -1 too).
func lagReader(f func(context.Context) (time.Duration, error)) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d, err := f(ctx)
		if err != nil {
			return -1
		}
		return d.Seconds()
	}
}

// Request counts one answered request; route is the matched pattern ("unmatched" for none).
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	// Fiber's strings point into buffers it reuses; a label is kept, so it gets its own copy.
	route, method = strings.Clone(route), strings.Clone(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.durations.WithLabelValues(route, method).Observe(took.Seconds())
}

// GroupCommitted records the size of one group commit of single posts.
func (m *Metrics) GroupCommitted(posts int) {
	if m == nil {
		return
	}
	m.groups.Observe(float64(posts))
}

// Imported counts an import's encounters by outcome.
func (m *Metrics) Imported(accepted, skipped, rejected int) {
	if m == nil {
		return
	}
	m.imported.WithLabelValues("accepted").Add(float64(accepted))
	m.imported.WithLabelValues("skipped").Add(float64(skipped))
	m.imported.WithLabelValues("rejected").Add(float64(rejected))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
