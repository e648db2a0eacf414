package encounters

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/trcledger/trcledger"
)

// Group commit: single posts that arrive together are one call of the writer (writer.go), so
// they share one database transaction: one commit, one fsync, one statement per table, as
// DESIGN.md section 9 asks. Each post is one job and is answered its own outcome.
//
// Groups are pipelined: up to committers groups are written at once, so while one waits for its
// commit the next gathers the posts that arrived meanwhile and writes.

// maxGroup is the most posts one shared transaction takes.
const maxGroup = 256

// committers is how many groups are written at once.
const committers = 2

// groupJob is a single post waiting for its group.
type groupJob struct {
	*writeJob
	done chan error // the writer's error for the whole group, nil when the job has its outcome
}

// committer gathers single posts into groups and hands each group to the writer.
type committer struct {
	svc   *Service
	jobs  chan *groupJob
	slots chan struct{} // one per group being written
	wg    sync.WaitGroup

	accepted atomic.Int64 // posts handed over so far

	mu      sync.RWMutex
	closed  bool
	stopped chan struct{} // closed when every accepted post has been answered
}

func (s *Service) startCommitter() {
	c := &committer{svc: s, jobs: make(chan *groupJob, 4*maxGroup), slots: make(chan struct{}, committers), stopped: make(chan struct{})}
	s.group = c
	go c.run()
}

// errShuttingDown answers a post that arrives after the committer was stopped.
// It is a 503: nothing was written, and the same post under the same key may be sent again.
var errShuttingDown = trcledger.Errorf(trcledger.EUNAVAILABLE, "the server is shutting down and wrote nothing; send the same request again with the same Idempotency-Key")

// postGrouped hands a job to the committer and waits until its group is written. Once handed
// over, the post is written and answered whatever its client does.
func (s *Service) postGrouped(ctx context.Context, j *writeJob) error {
	g := &groupJob{writeJob: j, done: make(chan error, 1)}
	c := s.group
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errShuttingDown
	}
	select {
	case c.jobs <- g:
		c.accepted.Add(1)
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	return <-g.done
}

// StopPosts closes the group committer to new single posts (a post after it is answered
// EUNAVAILABLE and writes nothing), then writes and answers every post accepted before. It
// returns ctx's error if ctx ends first. claims/background calls it when serve shuts down.
func (s *Service) StopPosts(ctx context.Context) error { return s.group.stop(ctx) }

// stop refuses new posts, writes and answers every post accepted before, and returns when the
// last is answered or ctx ends.
func (c *committer) stop(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.jobs)
	}
	c.mu.Unlock()
	select {
	case <-c.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run gathers groups until the queue is closed and drained. A post whose key is already in
// the group being gathered waits for the next group, which then replays the first one's answer.
func (c *committer) run() {
	defer close(c.stopped)
	defer c.wg.Wait()
	var held []*groupJob
	for {
		var first *groupJob
		if len(held) > 0 {
			first, held = held[0], held[1:]
		} else {
			j, ok := <-c.jobs
			if !ok {
				return
			}
			first = j
		}
		c.slots <- struct{}{} // while both slots are busy, posts queue up for this group
		group := []*groupJob{first}
		keys := map[string]bool{}
		add := func(j *groupJob) {
			k := j.scope + "\x00" + j.idem.Key
			if j.idem.Key != "" && keys[k] || len(group) >= maxGroup {
				held = append(held, j)
				return
			}
			keys[k] = j.idem.Key != ""
			if j != first {
				group = append(group, j)
			}
		}
		add(first)
		rest := held
		held = nil
		for _, j := range rest {
			add(j)
		}
	gather:
		for len(group) < maxGroup {
			select {
			case j, ok := <-c.jobs:
				if !ok {
					break gather
				}
				add(j)
			default:
				break gather
			}
		}
		c.wg.Add(1)
		go c.write(group)
	}
}

// write writes one group and answers each of its posts.
func (c *committer) write(group []*groupJob) {
	defer c.wg.Done()
	defer func() { <-c.slots }()
	jobs := make([]*writeJob, len(group))
	for i, g := range group {
		jobs[i] = g.writeJob
	}
	err := c.writeSafely(jobs)
	if f := c.svc.onGroup.Load(); f != nil && err == nil {
		(*f)(len(group))
	}
	for _, g := range group {
		g.done <- err
	}
}

// writeSafely is the writer's call for a group; a panic fails the group (nothing of it is
// committed) instead of leaving its posts waiting for ever.
func (c *committer) writeSafely(jobs []*writeJob) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("group commit: panic: %v", p)
		}
	}()
	return c.svc.write(context.Background(), jobs)
}
