package faults_test

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
	led := &ledger{acked: map[string]int64{}, failed: map[string]int64{}}
	type sent struct {
		start time.Time
		rp    reply
	}
	var (
		mu     sync.Mutex
		log    []sent
		killed time.Time // the primary was told to stop
		// firstFail is the start of the first request to fail after the
		// kill; traffic goes on for 1 s after one that started later
		// succeeded.
		firstFail time.Time
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		settled   = make(chan struct{}) // closed 1 s after the first success after the kill
		once      sync.Once
	)
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				rp := a.get("/inc", cookies[w])
				led.record(cookies[w], rp)
				mu.Lock()
				log = append(log, sent{start, rp})
				if !killed.IsZero() && !rp.ok() && firstFail.IsZero() {
					firstFail = start
				}
				recovered := !firstFail.IsZero() && start.After(firstFail) && rp.ok()
				mu.Unlock()
				if recovered {
					once.Do(func() { time.AfterFunc(time.Second, func() { close(settled) }) })
				}
			}
		})
	}
	time.Sleep(time.Second) // steady traffic before the fault
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	zero := time.Duration(0)
	must(t, "kill the primary", data[0].Container().Stop(context.Background(), &zero))
	select {
	case <-settled:
	case <-time.After(60 * time.Second):
		close(stop)
		wg.Wait()
		t.Fatalf("no request succeeded within 60 s of killing the primary")
	}
	close(stop)
	wg.Wait()
	a.waitIdle(t, linkDeadline+linkSlack)

	var failed, total int
	var lastFailEnd, back time.Time
	for _, s := range log {
		if s.start.Before(killed) {
			continue
		}
		total++
		end := s.start.Add(s.rp.took)
		if s.rp.took > linkDeadline+linkSlack {
			t.Errorf("a request took %v, past its %v deadline", s.rp.took, linkDeadline)
		}
		if !s.rp.ok() {
			failed++
			if end.After(lastFailEnd) {
				lastFailEnd = end
			}
		} else if s.start.After(firstFail) && (back.IsZero() || end.Before(back)) {
			back = end
		}
	}
	var lost, written int64
	for _, c := range cookies {
		n := a.counter(t, c)
		acked, fails := led.acked[c], led.failed[c]
		if n < acked {
			lost += acked - n
		}
		if n > acked+fails {
			t.Errorf("a session's counter is %d after %d acknowledged and %d failed increments", n, acked, fails)
		}
		if n > acked {
			written += n - acked
		}
	}
	window := time.Duration(0)
	if !firstFail.IsZero() {
		window = lastFailEnd.Sub(firstFail)
	}
	if failed == 0 {
		t.Errorf("no request failed: the primary was not killed under traffic")
	}
	t.Logf("Sentinel failover: %d of %d requests after the kill failed, from %v after it for %v; traffic back %v after the kill; %d acknowledged increments lost, %d failed ones written",
		failed, total, firstFail.Sub(killed).Round(time.Millisecond), window.Round(time.Millisecond), back.Sub(killed).Round(time.Millisecond), lost, written)
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
