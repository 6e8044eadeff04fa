package faults_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	tcexec "github.com/testcontainers/testcontainers-go/exec"

	"github.com/sessionstore/sessionstore/internal/testservers"
	"github.com/sessionstore/sessionstore/internal/testservers/redistest"
	"github.com/sessionstore/sessionstore/redis"
)

// The Redis image (the official one, or the one scripts/build-images makes
// from Debian's redis-server) runs Sentinel too: redis-server --sentinel.
const redisImageEnv, redisImage = "SESSIONSTORE_REDIS_IMAGE", "redis:7"

func redisPing(ctx context.Context, addr string) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// dataSpec is a Redis server of a primary-replica pair.
var dataSpec = &testservers.Spec{
	Name:         "redis-sentinel-data",
	ImageEnv:     redisImageEnv,
	DefaultImage: redisImage,
	URLEnv:       redistest.URLEnv,
	Port:         "6379/tcp",
	Cmd:          []string{"redis-server", "--save", "", "--appendonly", "no"},
	WaitLog:      "Ready to accept connections",
	Ping:         redisPing,
}

// sentinelSpec is a Sentinel watching the primary at primaryAddr (an
// address on the Docker network); Sentinel rewrites its configuration file,
// so the command writes one first.
func sentinelSpec(primaryAddr string) *testservers.Spec {
	host, port, _ := net.SplitHostPort(primaryAddr)
	conf := strings.Join([]string{
		"port 26379",
		"sentinel monitor mymaster " + host + " " + port + " 2",
		// Fast, for a test: a primary silent for 1 s is down.
		"sentinel down-after-milliseconds mymaster 1000",
		"sentinel failover-timeout mymaster 5000",
	}, "\\n")
	return &testservers.Spec{
		Name:         "redis-sentinel",
		ImageEnv:     redisImageEnv,
		DefaultImage: redisImage,
		URLEnv:       redistest.URLEnv,
		Port:         "26379/tcp",
		Cmd:          []string{"sh", "-c", "printf '" + conf + "\\n' > /tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel"},
		Ping:         redisPing,
	}
}

// bridge returns the address of a server on the Docker network, where
// Sentinel and replicas see it.
func bridge(t testing.TB, s *testservers.Server, port string) string {
	t.Helper()
	ip, err := s.Container().ContainerIP(context.Background())
	must(t, "container IP", err)
	return net.JoinHostPort(ip, port)
}

// A primary with a replica and three Sentinels; the application runs over
// go-redis's failover client. The primary is killed (docker stop with no
// grace) under steady traffic: the test measures the requests that fail and
// for how long, counts the acknowledged increments lost (replication is
// asynchronous), and checks that traffic comes back without restarting the
// application.
func TestRedisSentinelFailover(t *testing.T) {
	// In parallel with the other tests of this package but TestFlakyLinks,
	// which counts the goroutines of the process alone, before them.
	t.Parallel()
	if testing.Short() {
		t.Skip("starts five containers and fails one over")
	}
	if os.Getenv(redistest.URLEnv) != "" {
		t.Skip("SESSIONSTORE_REDIS_URL is set: no containers to fail over")
	}
	data := testservers.StartGroup(t, dataSpec, 2, func(ctx context.Context, s []*testservers.Server) error {
		ip, err := s[0].Container().ContainerIP(ctx)
		if err != nil {
			return err
		}
		c := goredis.NewClient(&goredis.Options{Addr: s[1].Addr})
		defer c.Close()
		return c.ReplicaOf(ctx, ip, "6379").Err()
	}, testservers.Dedicated())
	primary := bridge(t, data[0], "6379")
	sentinels := testservers.StartGroup(t, sentinelSpec(primary), 3, nil, testservers.Dedicated())

	// The failover client learns addresses on the Docker network from the
	// Sentinels; it dials each through the port published on the host.
	published := map[string]string{primary: data[0].Addr, bridge(t, data[1], "6379"): data[1].Addr}
	var sentinelAddrs []string
	for _, s := range sentinels {
		published[bridge(t, s, "26379")] = s.Addr
		sentinelAddrs = append(sentinelAddrs, s.Addr)
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if a, ok := published[addr]; ok {
			addr = a
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}

	// Wait until the replica is in sync and every Sentinel knows the two
	// others (a failover needs a quorum of 2 and a majority to elect).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, ctx, "the replica to sync", func() bool {
		c := goredis.NewClient(&goredis.Options{Addr: data[1].Addr})
		defer c.Close()
		info, _ := c.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	for _, s := range sentinels {
		waitFor(t, ctx, "the Sentinels to meet", func() bool {
			c := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr})
			defer c.Close()
			others, err := c.Sentinels(ctx, "mymaster").Result()
			return err == nil && len(others) >= 2
		})
	}

	client := goredis.NewFailoverClient(&goredis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         sentinelAddrs,
		Dialer:                dial,
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	st, err := redis.New(client, redis.Options{Prefix: unique("failover") + ":"})
	must(t, "redis.New", err)
	a := newApp(t, st, linkDeadline)
	defer a.close()

	const workers = 4
	cookies := make([]string, workers)
	for w := range cookies {
		cookies[w] = a.seed(t)
	}
	r := failoverUnderTraffic(t, a, cookies, func() {
		zero := time.Duration(0)
		must(t, "kill the primary", data[0].Container().Stop(context.Background(), &zero))
	})
	t.Logf("Sentinel failover: %v", r)
}

// failoverResult is what killing a server under traffic did.
type failoverResult struct {
	failed, total int           // requests started after the kill
	from, window  time.Duration // the first failed request started from after the kill, and failures went on for window
	back          time.Duration // from the kill until every session's last request, started after the first failure, succeeded
	lost, written int64         // acknowledged increments lost; failed ones written
}

func (r failoverResult) String() string {
	return fmt.Sprintf("%d of %d requests after the kill failed, from %v after it for %v; traffic back %v after the kill; %d acknowledged increments lost, %d failed ones written",
		r.failed, r.total, r.from.Round(time.Millisecond), r.window.Round(time.Millisecond), r.back.Round(time.Millisecond), r.lost, r.written)
}

// failoverUnderTraffic sends increments of every session in cookies, one
// client per session, then calls kill, and goes on until traffic is back
// (1 s after the last request of every session started after the first
// failure and succeeded, or 10 s after the kill if none failed). It checks that every request ended
// within its deadline and that no failed increment was applied more than
// once, and measures the rest.
func failoverUnderTraffic(t *testing.T, a *app, cookies []string, kill func()) failoverResult {
	t.Helper()
	led := &ledger{acked: map[string]int64{}, failed: map[string]int64{}}
	type sent struct {
		start time.Time
		rp    reply
	}
	var (
		mu     sync.Mutex
		log    []sent
		killed time.Time // kill was called
		// firstFail is the start of the first request to fail after the
		// kill.
		firstFail time.Time
		backAt    time.Time           // traffic was back
		last      = map[string]sent{} // the last request of each session
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		settled   = make(chan struct{})
		once      sync.Once
	)
	settle := func() { once.Do(func() { time.AfterFunc(time.Second, func() { close(settled) }) }) }
	for _, c := range cookies {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				rp := a.get("/inc", c)
				led.record(c, rp)
				mu.Lock()
				log = append(log, sent{start, rp})
				if !killed.IsZero() && !rp.ok() && firstFail.IsZero() {
					firstFail = start
				}
				last[c] = sent{start, rp}
				// Traffic is back when the last request of every session
				// started after the first failure and succeeded.
				recovered := !firstFail.IsZero() && backAt.IsZero()
				for _, l := range last {
					recovered = recovered && l.rp.ok() && l.start.After(firstFail)
				}
				if recovered && len(last) == len(cookies) {
					backAt = time.Now()
					settle()
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second) // steady traffic before the fault
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	kill()
	quiet := time.AfterFunc(10*time.Second, func() {
		mu.Lock()
		none := firstFail.IsZero()
		mu.Unlock()
		if none {
			settle()
		}
	})
	defer quiet.Stop()
	select {
	case <-settled:
	case <-time.After(60 * time.Second):
		close(stop)
		wg.Wait()
		t.Fatalf("traffic did not come back within 60 s of the kill")
	}
	close(stop)
	wg.Wait()
	a.waitIdle(t, linkDeadline+linkSlack)

	var r failoverResult
	var lastFailEnd time.Time
	for _, s := range log {
		if s.start.Before(killed) {
			continue
		}
		r.total++
		end := s.start.Add(s.rp.took)
		if s.rp.took > linkDeadline+linkSlack {
			t.Errorf("a request took %v, past its %v deadline", s.rp.took, linkDeadline)
		}
		if !s.rp.ok() {
			r.failed++
			if end.After(lastFailEnd) {
				lastFailEnd = end
			}
		}
	}
	for _, c := range cookies {
		n := a.counter(t, c)
		acked, fails := led.acked[c], led.failed[c]
		if n < acked {
			r.lost += acked - n
		}
		if n > acked+fails {
			t.Errorf("a session's counter is %d after %d acknowledged and %d failed increments", n, acked, fails)
		}
		if n > acked {
			r.written += n - acked
		}
	}
	if !firstFail.IsZero() {
		r.from, r.window, r.back = firstFail.Sub(killed), lastFailEnd.Sub(firstFail), backAt.Sub(killed)
	}
	return r
}

// waitFor polls cond until it holds, failing the test when ctx ends first.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clusterNodeSpec is a node of a Redis Cluster that fails over fast: a node
// silent for 1 s is failing (the default is 15 s).
var clusterNodeSpec = &testservers.Spec{
	Name:         "redis-cluster-replicated",
	ImageEnv:     redisImageEnv,
	DefaultImage: redisImage,
	URLEnv:       redistest.ClusterAddrsEnv,
	Port:         "6379/tcp",
	Cmd: []string{"redis-server", "--port", "6379", "--cluster-enabled", "yes",
		"--cluster-config-file", "/tmp/nodes.conf", "--cluster-node-timeout", "1000",
		"--save", "", "--appendonly", "no"},
	WaitLog: "Ready to accept connections",
	Ping:    redisPing,
}

// A Redis Cluster of three masters, each with a replica; the application
// runs over go-redis's cluster client. The master holding most of the
// test's sessions is killed under steady traffic: the test measures the
// requests that fail and for how long, counts the acknowledged increments
// lost, and checks that traffic comes back without restarting the
// application.
func TestRedisClusterFailover(t *testing.T) {
	// In parallel with the other tests of this package but TestFlakyLinks,
	// which counts the goroutines of the process alone, before them.
	t.Parallel()
	if testing.Short() {
		t.Skip("starts six containers and fails one over")
	}
	if os.Getenv(redistest.ClusterAddrsEnv) != "" || os.Getenv(redistest.URLEnv) != "" {
		t.Skip("a Redis server of the user's is set: no containers to fail over")
	}
	nodes := testservers.StartGroup(t, clusterNodeSpec, 6, func(ctx context.Context, s []*testservers.Server) error {
		cmd := []string{"redis-cli", "--cluster", "create"}
		for _, n := range s {
			ip, err := n.Container().ContainerIP(ctx)
			if err != nil {
				return err
			}
			cmd = append(cmd, net.JoinHostPort(ip, "6379"))
		}
		cmd = append(cmd, "--cluster-replicas", "1", "--cluster-yes")
		code, out, err := s[0].Container().Exec(ctx, cmd, tcexec.Multiplexed())
		if err != nil {
			return err
		}
		if code != 0 {
			msg, _ := io.ReadAll(out)
			return fmt.Errorf("redis-cli --cluster create exited with %d: %s", code, msg)
		}
		return nil
	}, testservers.Dedicated())
	published := map[string]string{}
	var seeds []string
	for _, n := range nodes {
		b := bridge(t, n, "6379")
		published[b] = n.Addr
		seeds = append(seeds, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Every node agrees the cluster is whole, and every replica is in sync.
	for _, n := range nodes {
		waitFor(t, ctx, "the cluster to form", func() bool {
			c := goredis.NewClient(&goredis.Options{Addr: n.Addr})
			defer c.Close()
			info, _ := c.ClusterInfo(ctx).Result()
			repl, _ := c.Info(ctx, "replication").Result()
			return strings.Contains(info, "cluster_state:ok") &&
				(strings.Contains(repl, "role:master") || strings.Contains(repl, "master_link_status:up"))
		})
	}

	client := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 seeds,
		ContextTimeoutEnabled: true,
		// A dead master answers no MOVED: go-redis keeps sending its slots
		// to it until the next periodic reload of the cluster's layout,
		// every 60 s by default (measured: 59 s of failed requests,
		// although the cluster had failed over within 2 s).
		ClusterStateReloadInterval: time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if a, ok := published[addr]; ok {
				addr = a
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	})
	defer client.Close()
	prefix := unique("failover") + ":"
	st, err := redis.New(client, redis.Options{Prefix: prefix})
	must(t, "redis.New", err)
	a := newApp(t, st, linkDeadline)
	defer a.close()
	cookies := make([]string, 8)
	for i := range cookies {
		cookies[i] = a.seed(t)
	}

	// The victim: the master holding most of the sessions.
	var victim *testservers.Server
	most := -1
	for _, n := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n.Addr})
		repl, _ := c.Info(ctx, "replication").Result()
		keys, err := c.Keys(ctx, prefix+"*").Result()
		c.Close()
		if strings.Contains(repl, "role:master") && err == nil && len(keys) > most {
			victim, most = n, len(keys)
		}
	}
	if victim == nil {
		t.Fatal("no master found")
	}
	r := failoverUnderTraffic(t, a, cookies, func() {
		zero := time.Duration(0)
		must(t, "kill a master", victim.Container().Stop(context.Background(), &zero))
	})
	t.Logf("Cluster failover (the master of %d of %d sessions killed): %v", most, len(cookies), r)
}
