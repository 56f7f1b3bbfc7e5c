//! What a process tree costs, read from `/proc`: CPU time (user + system ticks of every
//! process in the tree, each counted from when it was first seen, so processes born during the
//! window count and the ones before it count only their share) and PSS
//! (`/proc/PID/smaps_rollup`, shared pages split between the processes that share them, so a
//! tree's sum is what it really adds to the machine). Also the whole machine's busy cores, to
//! show how loaded the box was while a round ran.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// A process, told apart from a later one that reuses its pid by its start time.
type ProcKey = (u32, u64);

/// One `/proc/PID/stat` line, the parts used here.
#[derive(Debug, Clone, Copy)]
struct Stat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    ticks: u64,
    /// Start time after boot, in clock ticks.
    start: u64,
}

fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields start after the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        ppid: u32::try_from(field(4)?).ok()?,
        ticks: field(14)? + field(15)?,
        start: field(22)?,
    })
}

/// Every live process now, with its stat.
fn all_processes() -> HashMap<u32, Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_stat(pid)?)))
        .collect()
}

/// `root` and all its descendants, from one snapshot of the process table.
fn tree(root: u32, table: &HashMap<u32, Stat>) -> Vec<(u32, Stat)> {
    let Some(stat) = table.get(&root) else {
        return Vec::new();
    };
    let mut out = vec![(root, *stat)];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i].0;
        out.extend(
            table
                .iter()
                .filter(|(pid, s)| s.ppid == parent && **pid != parent)
                .map(|(pid, s)| (*pid, *s)),
        );
        i += 1;
    }
    out
}

/// The proportional set size of one process, in KiB (0 if it is gone or unreadable).
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("Pss:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`).
pub fn clock_ticks() -> Result<f64> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    let ticks: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("getconf CLK_TCK printed no number")?;
    if ticks <= 0.0 {
        bail!("getconf CLK_TCK printed {ticks}");
    }
    Ok(ticks)
}

/// CPU and PSS of one process tree, sampled over a window.
#[derive(Debug)]
pub struct TreeMeter {
    root: u32,
    /// Ticks when each process was first seen, and the latest.
    ticks: HashMap<ProcKey, (u64, u64)>,
    first_sample: bool,
    pss_samples: Vec<u64>,
    processes_max: usize,
}

impl TreeMeter {
    pub fn new(root: u32) -> Self {
        TreeMeter {
            root,
            ticks: HashMap::new(),
            first_sample: true,
            pss_samples: Vec::new(),
            processes_max: 0,
        }
    }

    /// Reads the tree's CPU ticks (and its PSS when `pss`) from `table`, a fresh snapshot.
    fn sample(&mut self, table: &HashMap<u32, Stat>, pss: bool) {
        let procs = tree(self.root, table);
        self.processes_max = self.processes_max.max(procs.len());
        for (pid, stat) in &procs {
            // A process seen at the window's first sample counts from there; one born later
            // counts from zero (all its time falls in the window).
            let base = if self.first_sample { stat.ticks } else { 0 };
            let entry = self
                .ticks
                .entry((*pid, stat.start))
                .or_insert((base, stat.ticks));
            entry.1 = stat.ticks;
        }
        self.first_sample = false;
        if pss {
            self.pss_samples
                .push(procs.iter().map(|(pid, _)| pss_kib(*pid)).sum());
        }
    }

    /// CPU cores used over `secs` (ticks at `hz` per second).
    pub fn cores(&self, secs: f64, hz: f64) -> f64 {
        let ticks: u64 = self.ticks.values().map(|(a, b)| b.saturating_sub(*a)).sum();
        ticks as f64 / hz / secs
    }

    /// Mean and largest PSS over the samples, in MiB.
    pub fn pss_mib(&self) -> (f64, f64) {
        if self.pss_samples.is_empty() {
            return (0.0, 0.0);
        }
        let mean = self.pss_samples.iter().sum::<u64>() as f64 / self.pss_samples.len() as f64;
        let max = self.pss_samples.iter().copied().max().unwrap_or(0) as f64;
        (mean / 1024.0, max / 1024.0)
    }

    /// The most processes the tree had at once (the bot, its Chromium and Chromium's children).
    pub fn processes(&self) -> usize {
        self.processes_max
    }
}

/// Samples several trees from one process-table snapshot each time, plus the machine's load.
#[derive(Debug)]
pub struct Sampler {
    pub trees: Vec<TreeMeter>,
    machine_start: Option<(u64, u64)>,
    machine_end: Option<(u64, u64)>,
    started: Instant,
    ended: Instant,
}

impl Sampler {
    pub fn new(roots: &[u32]) -> Self {
        let now = Instant::now();
        Sampler {
            trees: roots.iter().map(|r| TreeMeter::new(*r)).collect(),
            machine_start: machine_ticks(),
            machine_end: None,
            started: now,
            ended: now,
        }
    }

    /// One sample of every tree (with PSS when `pss`: reading smaps is the costlier part).
    pub fn sample(&mut self, pss: bool) {
        let table = all_processes();
        for meter in &mut self.trees {
            meter.sample(&table, pss);
        }
        self.machine_end = machine_ticks();
        self.ended = Instant::now();
    }

    /// Seconds between the first and the last sample.
    pub fn secs(&self) -> f64 {
        (self.ended - self.started).as_secs_f64()
    }

    /// The whole machine's busy cores over the window (all processes, this bench's included).
    pub fn machine_busy_cores(&self) -> Option<f64> {
        let ((busy0, total0), (busy1, total1)) = (self.machine_start?, self.machine_end?);
        let total = total1.checked_sub(total0)?;
        if total == 0 {
            return None;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        Some(busy1.saturating_sub(busy0) as f64 / total as f64 * cores)
    }
}

/// (busy, total) jiffies of all CPUs, from the first line of `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total.saturating_sub(idle), total))
}

/// The speakers' browsers: each is started by test-support as `unshare … sh -c 'exec chromium
/// … --use-file-for-fake-audio-capture=…'`, and that `unshare` process roots its whole tree
/// (the bots' Chromiums are started otherwise and never play a file).
pub fn speaker_roots() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.starts_with("unshare ")
                && cmdline.contains("--use-file-for-fake-audio-capture"))
            .then_some(pid)
        })
        .collect()
}

/// The pid of the `meetvault bot run` process of bot `id`, if it runs.
pub fn bot_process(id: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        (cmdline.contains(" bot run ") && cmdline.contains(id)).then_some(pid)
    })
}
