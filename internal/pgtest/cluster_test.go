package pgtest

import (
	"testing"
	"time"
)

// TestReplicaFollowsThePrimary: a row written on a cluster of the test's own is read back from
// its streaming replica, which refuses writes.
func TestReplicaFollowsThePrimary(t *testing.T) {
	t.Parallel()
	primary := NewCluster(t)
	replica := primary.NewReplica(t)
	p := primary.Open(t, "postgres")
	if _, err := p.Exec(`CREATE TABLE visits (n int); INSERT INTO visits VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	primary.WaitCaughtUp(t, replica, 30*time.Second)
	r := replica.Open(t, "postgres")
	var sum int
	if err := r.Get(&sum, `SELECT sum(n) FROM visits`); err != nil || sum != 3 {
		t.Errorf("sum on the replica = %d, %v; want 3", sum, err)
	}
	if _, err := r.Exec(`INSERT INTO visits VALUES (3)`); err == nil {
		t.Error("the replica took a write")
	}
}
