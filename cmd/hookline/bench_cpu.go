package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, in which /proc reports CPU time: 100
// on every Linux this runs on.
const clockTicks = 100

// cpuSample is the CPU seconds (user + system) used so far by this process,
// by every other Hookline process on the machine (with --api: the measured
// deployment, when it runs here), and by every PostgreSQL and Redis server
// process, read from /proc. Differences between two samples give each
// one's share of a run; a machine without /proc reads zeros.
type cpuSample struct {
	self, hookline, postgres, redis float64
}

// isHookline reports whether the process in /proc dir runs this program
// (the same executable as this bench, or one named hookline), other than
// this process.
func isHookline(dir, self string) bool {
	if filepath.Base(dir) == strconv.Itoa(os.Getpid()) {
		return false
	}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return false
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	return exe == self || filepath.Base(exe) == "hookline"
}

func sampleCPU() cpuSample {
	var s cpuSample
	s.self = procCPUSeconds("self")
	self, _ := os.Executable()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue
		}
		switch c := strings.TrimSpace(string(comm)); {
		case c == "postgres" || strings.HasPrefix(c, "postgres:"):
			s.postgres += procCPUSeconds(filepath.Base(d))
		case c == "redis-server":
			s.redis += procCPUSeconds(filepath.Base(d))
		case isHookline(d, self):
			s.hookline += procCPUSeconds(filepath.Base(d))
		}
	}
	return s
}

// procCPUSeconds reads utime + stime of /proc/<pid>/stat.
func procCPUSeconds(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{self: a.self - b.self, hookline: a.hookline - b.hookline, postgres: a.postgres - b.postgres, redis: a.redis - b.redis}
}

// writeSample is what PostgreSQL (for the bench's database) and Redis
// (server-wide) have done so far: commits, rows written, and commands.
// Unlike CPU time these counts do not depend on what else the machine is
// doing, so per-delivery figures compare across runs and machines (Redis's
// only when nothing else uses that server).
type writeSample struct {
	commits, inserted, updated, deleted, redisCalls float64
}

func (b *bench) sampleWrites(ctx context.Context) writeSample {
	var s writeSample
	if b.sql != nil {
		_ = b.sql.QueryRow(ctx, `SELECT xact_commit, tup_inserted, tup_updated, tup_deleted
			FROM pg_stat_database WHERE datname = current_database()`).Scan(&s.commits, &s.inserted, &s.updated, &s.deleted)
	}
	if b.redis != nil {
		if info, err := b.redis.Info(ctx, "commandstats").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				if _, rest, ok := strings.Cut(line, "calls="); ok && strings.HasPrefix(line, "cmdstat_") {
					n, _ := strconv.ParseFloat(strings.SplitN(rest, ",", 2)[0], 64)
					s.redisCalls += n
				}
			}
		}
	}
	return s
}

func (a writeSample) sub(b writeSample) writeSample {
	return writeSample{a.commits - b.commits, a.inserted - b.inserted, a.updated - b.updated, a.deleted - b.deleted, a.redisCalls - b.redisCalls}
}
