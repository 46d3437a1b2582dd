package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/version"
)

// Metrics are the gateway's Prometheus metrics.
type Metrics struct {
	started  prometheus.Counter
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	queued   prometheus.Gauge
	running  prometheus.Gauge
	uploaded prometheus.Counter

	workerQueued   *prometheus.GaugeVec
	workerRunning  *prometheus.GaugeVec
	workerHealthy  *prometheus.GaugeVec
	workerFailures *prometheus.CounterVec
	// failuresSeen is each worker's failure count last added to
	// workerFailures.
	failuresMu   sync.Mutex
	failuresSeen map[string]uint64

	contextsCollected prometheus.Counter

	verifications  *prometheus.CounterVec
	verifyDuration *prometheus.HistogramVec
	verifyWaiting  prometheus.Gauge
	verifyRunning  prometheus.Gauge

	recordsMissing   prometheus.Counter
	imports          *prometheus.CounterVec
	decisionsWritten prometheus.Counter
	decisionsDropped prometheus.Counter

	registryRequests       *prometheus.CounterVec
	registryEventsReceived prometheus.Counter
	registryEvents         *prometheus.CounterVec

	findings       *prometheus.GaugeVec
	affectedImages *prometheus.GaugeVec
	findingChanges *prometheus.CounterVec
	rescanDuration *prometheus.HistogramVec
	rescanLast     prometheus.Gauge
	scansResigned  *prometheus.CounterVec
}

// NewMetrics registers the gateway's metrics with reg, among them
// hallmark_build_info, always 1, whose labels say what the running binary
// was built from (internal/version).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	build := version.Get()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hallmark_build_info",
		Help: "Always 1; the labels say what the gateway was built from: module version, VCS revision (+modified when the tree had changes), Go version, BuildKit client version.",
		ConstLabels: prometheus.Labels{
			"version":          build.Version,
			"revision":         build.RevisionLabel(),
			"go_version":       build.GoVersion,
			"buildkit_version": build.BuildKit,
		},
	})
	buildInfo.Set(1)
	m := &Metrics{
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_builds_started_total", Help: "Builds accepted by the gateway.",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_builds_finished_total", Help: "Builds that ended, by result (succeeded, failed, canceled) and Connect code.",
		}, []string{"result", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hallmark_build_duration_seconds",
			Help:    "Wall time of builds from acceptance to result, by result.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
		}, []string{"result"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hallmark_build_queue_depth", Help: "Builds waiting for a free BuildKit slot, summed over the workers.",
		}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hallmark_builds_running", Help: "Builds running in BuildKit, summed over the workers.",
		}),
		workerQueued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hallmark_buildkit_worker_queue_depth", Help: "Builds waiting for a free slot of a BuildKit worker, by worker address.",
		}, []string{"worker"}),
		workerRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hallmark_buildkit_worker_builds_running", Help: "Builds running on a BuildKit worker, by worker address.",
		}, []string{"worker"}),
		workerHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hallmark_buildkit_worker_healthy", Help: "1 while a BuildKit worker passes its health checks and builds reach it, else 0 (builds skip it), by worker address.",
		}, []string{"worker"}),
		workerFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_buildkit_worker_failures_total", Help: "Failed health checks of a BuildKit worker and builds that could not reach it or lost it, by worker address.",
		}, []string{"worker"}),
		failuresSeen: map[string]uint64{},
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_context_upload_bytes_total", Help: "Bytes of build context received.",
		}),
		contextsCollected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_context_collected_bytes_total",
			Help: "Bytes of uploaded build contexts removed by garbage collection because no owner held them any more.",
		}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_verifications_total", Help: "Verify calls, by outcome (allowed, denied, error).",
		}, []string{"outcome"}),
		verifyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hallmark_verify_duration_seconds",
			Help:    "Wall time of Verify calls that returned a verdict, by whether it was cached.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"cached"}),
		verifyWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hallmark_verifications_waiting", Help: "Verifications waiting for a free slot (verify.maxConcurrent); cached verdicts never wait.",
		}),
		verifyRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hallmark_verifications_running", Help: "Verifications running (requests for the same image share one).",
		}),
		recordsMissing: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_store_builds_not_recorded_total",
			Help: "Builds whose record the store did not take after the bounded retry; the builds themselves succeeded or failed as they did.",
		}),
		imports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_store_imports_total",
			Help: "Images StoreService.ImportImages handled, by outcome (imported, already_recorded, not_verified, error).",
		}, []string{"outcome"}),
		decisionsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_store_decisions_recorded_total", Help: "Verification and admission decisions written to the store.",
		}),
		decisionsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_store_decisions_dropped_total",
			Help: "Verification and admission decisions never written: the store was unavailable until its buffer filled, or at shutdown.",
		}),
		registryRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_registry_event_requests_total",
			Help: "Requests to /registry/events, by HTTP status: 204 recorded, 401 no valid token, 415 media type, 413 too large, 400 not valid, 503 store unavailable (the registry sends them again).",
		}, []string{"code"}),
		registryEventsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hallmark_registry_events_received_total", Help: "Events in the registry's authenticated notification envelopes.",
		}),
		registryEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_registry_events_total",
			Help: "Registry events received, by result: recorded (manifest events the store took, repeats included), skipped (blob events), rejected (their envelope was refused or the store did not take it).",
		}, []string{"result"}),
	}
	m.findings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hallmark_vuln_findings", Help: "Open vulnerability findings on the recorded images, by severity and whether an exception of the build policy accepts them (one per image, advisory and package).",
	}, []string{"severity", "excepted"})
	m.affectedImages = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hallmark_vuln_affected_images", Help: "Recorded images with an open finding of a severity that no exception accepts, by severity.",
	}, []string{"severity"})
	m.findingChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hallmark_vuln_finding_changes_total", Help: "Vulnerability findings this gateway's re-scans recorded as new (or reopened) and as resolved.",
	}, []string{"change"})
	m.rescanDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hallmark_vuln_rescan_duration_seconds", Help: "Wall time of re-scans of the recorded images, by scope (all: after the advisories changed; new: images recorded since the last one).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"scope"})
	m.rescanLast = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hallmark_vuln_rescan_last_timestamp_seconds", Help: "When this gateway last re-scanned the recorded images successfully (Unix time).",
	})
	m.scansResigned = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hallmark_vuln_scans_resigned_total", Help: "Scan attestations signed for shipped images whose findings a re-scan changed, by outcome (signed, failed).",
	}, []string{"outcome"})
	for _, c := range []prometheus.Collector{m.scansResigned, m.findings, m.affectedImages, m.findingChanges, m.rescanDuration, m.rescanLast, buildInfo, m.registryRequests, m.registryEventsReceived, m.registryEvents, m.started, m.finished, m.duration, m.queued, m.running, m.uploaded,
		m.workerQueued, m.workerRunning, m.workerHealthy, m.workerFailures, m.contextsCollected,
		m.verifications, m.verifyDuration, m.verifyWaiting, m.verifyRunning, m.recordsMissing, m.imports, m.decisionsWritten, m.decisionsDropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveVerifications records the number of verifications waiting for a
// slot and running (verify.WithConcurrencyObserver).
func (m *Metrics) ObserveVerifications(waiting, running int64) {
	m.verifyWaiting.Set(float64(waiting))
	m.verifyRunning.Set(float64(running))
}

// ObserveQueue records the number of waiting and running builds.
func (m *Metrics) ObserveQueue(waiting, running int64) {
	m.queued.Set(float64(waiting))
	m.running.Set(float64(running))
}

// ObserveWorker records one BuildKit worker's numbers
// (builder.WithWorkerObserver).
func (m *Metrics) ObserveWorker(s builder.WorkerStats) {
	m.workerQueued.WithLabelValues(s.Addr).Set(float64(s.Waiting))
	m.workerRunning.WithLabelValues(s.Addr).Set(float64(s.Running))
	healthy := 0.0
	if s.Healthy {
		healthy = 1
	}
	m.workerHealthy.WithLabelValues(s.Addr).Set(healthy)
	m.failuresMu.Lock()
	defer m.failuresMu.Unlock()
	failures := m.workerFailures.WithLabelValues(s.Addr) // exported at 0 from the start
	if seen := m.failuresSeen[s.Addr]; s.Failures > seen {
		failures.Add(float64(s.Failures - seen))
		m.failuresSeen[s.Addr] = s.Failures
	}
}

// ObserveContextsCollected counts the bytes of uploaded contexts that a
// garbage collection removed.
func (m *Metrics) ObserveContextsCollected(bytes int64) {
	m.contextsCollected.Add(float64(bytes))
}

// ObserveDecisions counts decisions the store's recorder dropped and
// wrote (store.WithCounters).
func (m *Metrics) ObserveDecisions() (dropped, written func(n int)) {
	return func(n int) { m.decisionsDropped.Add(float64(n)) }, func(n int) { m.decisionsWritten.Add(float64(n)) }
}
