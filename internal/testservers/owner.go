package testservers

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Labels on every container a test binary starts. A binary killed before Main returns
// (Ctrl-C, a closed pipe) cannot remove its containers, and the reaper container is off;
// scripts/remove-leftovers, which scripts/test runs first, removes the containers whose
// owner labels name a process that is gone, and leaves every other one alone: those of a
// run still going (on this machine several may run at once), those started on another host,
// and any container without these labels.
const (
	// LabelService names the service: "postgres".
	LabelService = "org.sessionstore.testservers"
	// LabelHost is the owner's host name (os.Hostname), without which its pid means nothing.
	LabelHost = "org.sessionstore.testservers.host"
	// LabelBoot is the host's boot id (/proc/sys/kernel/random/boot_id): after a reboot no
	// process of before is alive, whatever pid it had.
	LabelBoot = "org.sessionstore.testservers.boot"
	// LabelPID is the pid of the test binary that started the container.
	LabelPID = "org.sessionstore.testservers.pid"
	// LabelStart is that process's start time in clock ticks after boot (field 22 of
	// /proc/PID/stat), so that another process given the same pid later is not taken for
	// the owner. Empty where /proc does not exist.
	LabelStart = "org.sessionstore.testservers.start"
)

// ownerLabels are the owner labels of this process, read once.
var ownerLabels = sync.OnceValue(func() map[string]string {
	host, _ := os.Hostname()
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	pid := os.Getpid()
	return map[string]string{
		LabelHost:  host,
		LabelBoot:  string(bytes.TrimSpace(boot)),
		LabelPID:   strconv.Itoa(pid),
		LabelStart: processStart(pid),
	}
})

// containerLabels returns the labels of a new container of service.
func containerLabels(service string) map[string]string {
	labels := map[string]string{LabelService: service}
	for k, v := range ownerLabels() {
		labels[k] = v
	}
	return labels
}

// processStart returns the start time of process pid as /proc/PID/stat gives it (clock ticks
// after boot), or "" when it cannot be read (no such process, no /proc).
func processStart(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name, field 2, is in parentheses and may hold spaces and parentheses:
	// the fields after it start after the last ')'. starttime is field 22.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}
