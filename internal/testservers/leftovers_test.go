package testservers

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// TestRemoveLeftovers gives containers every kind of owner label and checks that
// scripts/remove-leftovers removes exactly those whose owner is gone: never one of a run
// still going, here this test binary and a second live process standing for a concurrent
// run, which is removed only once it has exited.
func TestRemoveLeftovers(t *testing.T) {
	requireEngine(t, &Spec{Name: "leftovers", URLEnv: "(none)"})
	cli, _ := connectEngine()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The containers are created, never started: any image present will do.
	img := cmp.Or(os.Getenv("SESSIONSTORE_MEMCACHED_IMAGE"), "memcached:1.6")
	if err := ensureImage(ctx, img, "SESSIONSTORE_MEMCACHED_IMAGE"); err != nil {
		t.Fatal(err)
	}

	me := ownerLabels()
	if me[LabelStart] == "" {
		t.Skip("no /proc: the script falls back to ps, which this test does not cover")
	}
	other := exec.Command("sleep", "120") // a concurrent run, as far as the script can tell
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	otherPID := strconv.Itoa(other.Process.Pid)
	otherStart := processStart(other.Process.Pid)
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	gonePID := strconv.Itoa(exited.Process.Pid)

	owner := func(host, boot, pid, start string) map[string]string {
		return map[string]string{LabelService: "leftovers-test", LabelHost: host, LabelBoot: boot, LabelPID: pid, LabelStart: start}
	}
	host, boot := me[LabelHost], me[LabelBoot]
	cases := []struct {
		name    string
		labels  map[string]string
		removed bool
	}{
		{"this running test binary", containerLabels("leftovers-test"), false},
		{"another running process", owner(host, boot, otherPID, otherStart), false},
		{"an exited process", owner(host, boot, gonePID, otherStart), true},
		{"a pid now held by another process", owner(host, boot, me[LabelPID], "1"), true},
		{"a process of before a reboot", owner(host, "00000000-0000-0000-0000-000000000000", me[LabelPID], me[LabelStart]), true},
		{"a process on another host", owner("elsewhere.invalid", boot, gonePID, "1"), false},
		{"no start time, running process", owner(host, boot, me[LabelPID], ""), false},
		{"no start time, exited process", owner(host, boot, gonePID, ""), true},
		{"no owner labels", map[string]string{LabelService: "leftovers-test"}, false},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: img, Labels: tc.labels},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.ID
		t.Cleanup(func() {
			cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
		})
	}
	exists := func(id string) bool {
		t.Helper()
		_, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	removeLeftovers := func() {
		t.Helper()
		out, err := exec.CommandContext(ctx, "../../scripts/remove-leftovers").CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/remove-leftovers: %v\n%s", err, out)
		}
		t.Logf("scripts/remove-leftovers:\n%s", out)
	}

	removeLeftovers()
	for i, tc := range cases {
		if got := !exists(ids[i]); got != tc.removed {
			t.Errorf("container of %s: removed = %v, want %v", tc.name, got, tc.removed)
		}
	}

	// The concurrent run ends: its container is a leftover now.
	other.Process.Kill()
	other.Wait()
	removeLeftovers()
	if exists(ids[1]) {
		t.Error("the container of the process that has since exited was not removed")
	}
	if !exists(ids[0]) {
		t.Error("the container of this running test binary was removed")
	}
}
