//! `mixcli batch`: a dataset in, a mirrored tree of `.npy` files out.
//!
//! Inputs are gathered from the arguments and `--manifest` files (folders are searched
//! recursively for frame folders and video files), deduplicated, and sorted by their path
//! relative to the inputs' common ancestor; `--shard I/N` keeps every N-th from position I, so
//! N machines that see the same dataset split it exactly. Each output mirrors its input under
//! `--out-dir` (`class/clip.mp4` -> `OUT/class/clip.npy`, frame folder `123` -> `OUT/123.npy`).
//! Inputs whose output already exists are skipped, so a killed run resumes where it stopped
//! (outputs are written atomically: an existing one is complete). `--jobs` workers mix inputs
//! in parallel; a broken input never stops the others: its error goes to a JSON-lines report.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::args::{BatchArgs, Shard};
use crate::atomic;
use crate::error::{Error, Result};
use crate::frames_dir::{self, DirKind};
use crate::input::Input;
use crate::json;
use crate::mixing::{self, MixRequest};
use crate::npy;

/// File extensions taken as videos when searching folders (explicit paths are taken as they
/// are, whatever their extension).
pub const VIDEO_EXTENSIONS: [&str; 16] = [
    "mp4", "m4v", "mov", "webm", "mkv", "avi", "mpg", "mpeg", "ts", "mts", "flv", "ogv", "wmv",
    "3gp", "gif", "mxf",
];

fn is_video_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| e.eq_ignore_ascii_case(v)))
}

/// One input of a batch and where its output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The input (video file or frame folder), as found.
    pub input: PathBuf,
    /// Its path relative to the common ancestor of all inputs (the mirrored part).
    pub relative: PathBuf,
    /// The `.npy` to write.
    pub output: PathBuf,
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        // Normalise `.` and `..` lexically for paths that do not exist.
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    })
}

/// Searches `dir` for inputs: frame folders (a folder holding `.jpg`/`.jpeg`/`.png` files is
/// one input) and video files, recursively, skipping hidden entries.
fn walk(dir: &Path, depth: u32, seen: &mut HashSet<PathBuf>, found: &mut Vec<PathBuf>) {
    if depth > 64 || !seen.insert(absolute(dir)) {
        return;
    }
    match frames_dir::classify(dir) {
        Ok(DirKind::Frames) => {
            found.push(dir.to_path_buf());
            return;
        }
        Ok(DirKind::Other) => {}
        Err(_) => {
            // Unreadable: report it as an input that fails, naming the problem.
            found.push(dir.to_path_buf());
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().first() != Some(&b'.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, depth + 1, seen, found);
        } else if is_video_name(&path) {
            found.push(path);
        }
    }
}

/// Reads a manifest: one path per line, relative ones resolved against the manifest's folder.
///
/// # Errors
/// The manifest cannot be read.
pub fn read_manifest(manifest: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(manifest).map_err(|e| Error::io(manifest, "opening", e))?;
    let base = manifest.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(manifest, "reading", e))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = Path::new(line);
        out.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        });
    }
    Ok(out)
}

/// Expands arguments into inputs, each with the folder its output path is mirrored from: a
/// folder that is not a frame folder is searched, and what it holds mirrors relative to it;
/// anything else (files, missing paths, frame folders) is an input as it is, mirrored from its
/// parent folder.
#[must_use]
pub fn expand(paths: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        let is_search_root =
            p.is_dir() && frames_dir::classify(p).is_ok_and(|k| k == DirKind::Other);
        if is_search_root {
            let mut found = Vec::new();
            walk(p, 0, &mut seen, &mut found);
            let base = absolute(p);
            out.extend(found.into_iter().map(|f| (f, base.clone())));
        } else {
            let abs = absolute(p);
            let base = abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf);
            out.push((p.clone(), base));
        }
    }
    out
}

fn common_ancestor(paths: &[PathBuf]) -> PathBuf {
    let mut iter = paths.iter();
    let Some(first) = iter.next() else {
        return PathBuf::new();
    };
    let mut common: Vec<Component<'_>> = first.components().collect();
    for p in iter {
        let n = common
            .iter()
            .zip(p.components())
            .take_while(|(a, b)| *a == b)
            .count();
        common.truncate(n);
    }
    common.iter().collect()
}

/// Maps inputs (with the folders they mirror from, see [`expand`]) to jobs: deduplicated,
/// outputs mirrored under `out_dir` relative to the common ancestor of those folders, sorted
/// by that relative path. Two inputs that would share an output (`a.mp4`, `a.webm`) keep
/// their extensions (`a.mp4.npy`).
#[must_use]
pub fn plan_jobs(inputs: &[(PathBuf, PathBuf)], out_dir: &Path) -> Vec<Job> {
    let mut by_abs: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (p, _) in inputs {
        by_abs.entry(absolute(p)).or_insert_with(|| p.clone());
    }
    let bases: Vec<PathBuf> = inputs.iter().map(|(_, b)| b.clone()).collect();
    let root = common_ancestor(&bases);
    let mut jobs: Vec<(PathBuf, PathBuf, PathBuf)> = by_abs
        .iter()
        .map(|(abs, given)| {
            let relative = abs
                .strip_prefix(&root)
                .map_or_else(|_| abs.clone(), Path::to_path_buf);
            // A relative path that starts at `/` (no common ancestor) is made relative.
            let relative: PathBuf = relative
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            let stem_output = if abs.is_dir() {
                let mut name = relative.clone().into_os_string();
                name.push(".npy");
                PathBuf::from(name)
            } else {
                relative.with_extension("npy")
            };
            (relative, given.clone(), stem_output)
        })
        .collect();
    let mut count: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (_, _, out) in &jobs {
        *count.entry(out.clone()).or_default() += 1;
    }
    for (relative, _, out) in &mut jobs {
        if count.get(out).copied().unwrap_or(0) > 1 {
            let mut name = relative.clone().into_os_string();
            name.push(".npy");
            *out = PathBuf::from(name);
        }
    }
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    jobs.into_iter()
        .map(|(relative, input, out)| Job {
            input,
            relative,
            output: out_dir.join(out),
        })
        .collect()
}

/// Keeps the jobs of `shard` (all of them without one).
#[must_use]
pub fn shard_jobs(jobs: Vec<Job>, shard: Option<Shard>) -> Vec<Job> {
    match shard {
        None => jobs,
        Some(s) => jobs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| s.takes(*i))
            .map(|(_, j)| j)
            .collect(),
    }
}

/// True when `output` holds a complete `.npy` (outputs are renamed into place whole).
#[must_use]
pub fn is_finished(output: &Path) -> bool {
    npy::read_shape(output).is_ok()
}

enum Outcome {
    Done { frames: u32, secs: f64 },
    Failed(Error),
}

fn run_job(job: &Job, req: &MixRequest<'_>, preview: bool) -> Outcome {
    let start = Instant::now();
    let result = (|| -> Result<u32> {
        if let Some(dir) = job.output.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(dir, "creating the output folder", e))?;
        }
        let preview_path = preview.then(|| job.output.with_extension("png"));
        let input = Input::open(&job.input)?;
        let mixed = mixing::mix_input(&input, req)?;
        mixing::write_outputs(&mixed, req, &job.output, preview_path.as_deref())?;
        Ok(mixed.frames)
    })();
    match result {
        Ok(frames) => Outcome::Done {
            frames,
            secs: start.elapsed().as_secs_f64(),
        },
        Err(e) => Outcome::Failed(e),
    }
}

/// Removes what killed runs left of these jobs' outputs: one scan per output folder, and
/// only temporary files of these outputs that no live writer holds (other shards' are
/// theirs to clean).
fn remove_stale_temps(jobs: &[Job], preview: bool) {
    let mut by_dir: BTreeMap<PathBuf, HashSet<String>> = BTreeMap::new();
    for job in jobs {
        let (Some(dir), Some(name)) = (job.output.parent(), job.output.file_name()) else {
            continue;
        };
        let names = by_dir.entry(dir.to_path_buf()).or_default();
        names.insert(name.to_string_lossy().into_owned());
        if let Some(png) = job.output.with_extension("png").file_name()
            && preview
        {
            names.insert(png.to_string_lossy().into_owned());
        }
    }
    for (dir, names) in by_dir {
        atomic::remove_stale_in(&dir, |n| names.contains(n));
    }
}

/// Counts of a finished batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Inputs mixed in this run.
    pub mixed: usize,
    /// Inputs skipped because their output exists.
    pub skipped: usize,
    /// Inputs that failed.
    pub failed: usize,
}

struct Report {
    path: PathBuf,
    file: Option<File>,
}

impl Report {
    fn record(&mut self, job: &Job, error: &Error) -> Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating", e))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, "creating", e))?;
            self.file = Some(file);
        }
        let line = format!(
            "{{\"input\": {}, \"output\": {}, \"kind\": {}, \"error\": {}}}\n",
            json::string(&job.input.to_string_lossy()),
            json::string(&job.output.to_string_lossy()),
            json::string(error.problem.kind()),
            json::string(&error.to_string()),
        );
        if let Some(f) = self.file.as_mut() {
            // One write per line: a killed run leaves whole lines.
            f.write_all(line.as_bytes())
                .and_then(|()| f.flush())
                .map_err(|e| Error::io(&self.path, "writing", e))?;
        }
        Ok(())
    }
}

enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { total: usize, done: usize },
}

impl Progress {
    fn new(total: usize) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40.cyan/blue}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            Progress::Lines { total, done: 0 }
        }
    }

    fn line(&mut self, text: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.inc(1);
                if text.starts_with("FAILED") {
                    bar.println(text);
                }
            }
            Progress::Lines { total, done } => {
                *done += 1;
                let width = total.to_string().len();
                eprintln!("[{done:>width$}/{total}] {text}");
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Runs `mixcli batch`. Returns the summary; the caller exits non-zero unless
/// `summary.failed == 0`.
///
/// # Errors
/// Bad options, an unreadable manifest, no inputs at all, an unwritable report.
pub fn run(args: &BatchArgs) -> Result<Summary> {
    let plan = args.plan.config()?;
    let threads = args.threads;
    let req = args.out.request(plan, threads);
    crate::device::check(req.device)
        .map_err(|reason| Error::bare(crate::error::Problem::Device { reason }))?;

    let mut paths = args.inputs.clone();
    for m in &args.manifest {
        paths.extend(read_manifest(m)?);
    }
    if paths.is_empty() {
        return Err(Error::usage(
            "batch: no inputs (give paths or --manifest FILE)",
        ));
    }
    let all = plan_jobs(&expand(&paths), &args.out_dir);
    if all.is_empty() {
        return Err(Error::usage(
            "batch: no inputs found (no video files or frame folders in the given folders)",
        ));
    }
    let total_inputs = all.len();
    let jobs = shard_jobs(all, args.shard);
    let report_path = args.report.clone().unwrap_or_else(|| {
        args.out_dir.join(match args.shard {
            Some(s) => format!("mixcli-failures-shard-{}-of-{}.jsonl", s.index, s.count),
            None => "mixcli-failures.jsonl".into(),
        })
    });

    let start = Instant::now();
    let mut summary = Summary::default();
    remove_stale_temps(&jobs, args.preview);
    let mut todo = Vec::new();
    for job in jobs {
        if !args.overwrite && is_finished(&job.output) {
            summary.skipped += 1;
        } else {
            todo.push(job);
        }
    }
    let shard_note = args
        .shard
        .map(|s| format!(" (shard {}/{} of {total_inputs} inputs)", s.index, s.count))
        .unwrap_or_default();
    eprintln!(
        "batch: {} inputs{shard_note}, {} already done, {} to mix",
        todo.len() + summary.skipped,
        summary.skipped,
        todo.len()
    );

    let jobs_n = args
        .jobs
        .map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |j| j as usize,
        )
        .clamp(1, todo.len().max(1));
    let mut report = Report {
        path: report_path,
        file: None,
    };
    let mut progress = Progress::new(todo.len());
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut report_error = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs_n {
            let tx = tx.clone();
            let (next, todo, req) = (&next, &todo, &req);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = todo.get(i) else { break };
                    let outcome = run_job(job, req, args.preview);
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, outcome) in rx {
            let job = &todo[i];
            match outcome {
                Outcome::Done { frames, secs } => {
                    summary.mixed += 1;
                    progress.line(&format!(
                        "ok      {} -> {} (F = {frames}, {secs:.2} s)",
                        job.input.display(),
                        job.output.display()
                    ));
                }
                Outcome::Failed(e) => {
                    summary.failed += 1;
                    progress.line(&format!("FAILED  {e}"));
                    if let Err(re) = report.record(job, &e) {
                        report_error.get_or_insert(re);
                    }
                }
            }
        }
    });
    progress.finish();
    if summary.failed == 0 && report.path.exists() {
        // A report left by an earlier run would now be wrong.
        let _ = std::fs::remove_file(&report.path);
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        summary.mixed as f64 / secs
    } else {
        0.0
    };
    eprintln!(
        "batch: {} mixed, {} skipped (already done), {} failed, in {secs:.1} s ({rate:.1} inputs/s){}",
        summary.mixed,
        summary.skipped,
        summary.failed,
        if summary.failed > 0 {
            format!("; failures listed in {}", report.path.display())
        } else {
            String::new()
        }
    );
    if let Some(e) = report_error {
        return Err(e);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_jobs_mirrors_relative_to_common_ancestor() {
        let inputs: Vec<(PathBuf, PathBuf)> =
            ["/data/k/a/x.mp4", "/data/k/b/y.webm", "/data/k/b/y.mp4"]
                .iter()
                .map(|p| (PathBuf::from(p), PathBuf::from("/data/k")))
                .collect();
        let jobs = plan_jobs(&inputs, Path::new("/out"));
        let outs: Vec<_> = jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(
            outs,
            vec![
                PathBuf::from("/out/a/x.npy"),
                PathBuf::from("/out/b/y.mp4.npy"),
                PathBuf::from("/out/b/y.webm.npy"),
            ]
        );
        let one = plan_jobs(
            &[(PathBuf::from("/data/clip.avi"), PathBuf::from("/data"))],
            Path::new("o"),
        );
        assert_eq!(one[0].output, PathBuf::from("o/clip.npy"));
    }

    #[test]
    fn shard_jobs_cover_every_job_once() {
        let inputs: Vec<(PathBuf, PathBuf)> = (0..11)
            .map(|i| (PathBuf::from(format!("/d/{i}.mp4")), PathBuf::from("/d")))
            .collect();
        let jobs = plan_jobs(&inputs, Path::new("/o"));
        let mut seen = Vec::new();
        for index in 0..4 {
            seen.extend(shard_jobs(jobs.clone(), Some(Shard { index, count: 4 })));
        }
        seen.sort_by(|a, b| a.relative.cmp(&b.relative));
        assert_eq!(seen, jobs);
    }
}
