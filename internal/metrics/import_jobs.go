package metrics

import "github.com/prometheus/client_golang/prometheus"

// newImportJobs is the counter of finished import jobs by outcome (succeeded, failed), every
// series present from the start.
func newImportJobs() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trcledger_import_jobs_total",
		Help: "Import jobs finished, by outcome (succeeded, failed).",
	}, []string{"outcome"})
	for _, o := range []string{"succeeded", "failed"} {
		c.WithLabelValues(o)
	}
	return c
}

// ImportJobFinished counts an import job that finished in state (succeeded or failed); the
// rows of its chunks are counted by Imported as they commit.
func (m *Metrics) ImportJobFinished(state string) {
	if m == nil || (state != "succeeded" && state != "failed") {
		return
	}
	m.jobs.WithLabelValues(state).Inc()
}
