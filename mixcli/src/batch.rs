//! `mixcli batch`: a dataset in, a tree of `.npy` files out.
//!
//! # Inputs
//!
//! Inputs are the arguments and the lines of `--manifest` files (relative lines are relative
//! to the manifest's folder). A folder that is not a frame folder is searched recursively for
//! video files (by extension, [`VIDEO_EXTENSIONS`]) and frame folders; hidden entries are
//! skipped, and so is the output folder when it lies inside a searched folder. A folder is a
//! frame folder when it holds `.jpg`/`.jpeg`/`.png` images and no video file, no sub-folder
//! and no `.npy` or `.safetensors` file ([`mixdata::source::folder::classify`]): a stray cover
//! image never hides the videos beside it, and mixcli's own outputs (`.npy`, `.safetensors`,
//! previews, records, reports) are never inputs.
//! A folder with images that is not a frame folder is searched like any other; if nothing in
//! it is an input, a note says so.
//!
//! # Output names
//!
//! Every input keeps the name it was given (a symbolic link is named by the link, never by its
//! target), and its output name depends on nothing else in the list:
//!
//! - with `--root DIR`: the input's path relative to `DIR` (an input outside `DIR` is a usage
//!   error);
//! - otherwise, an input found by searching a folder argument: its path relative to that
//!   folder (`batch kinetics` -> `abseiling/x.mp4`);
//! - a file or frame folder given as an argument: its own name;
//! - a manifest line: the line as written, relative to the manifest's folder, and below it the
//!   path of an input found by searching a folder the line names; a line that is absolute or
//!   climbs out of the manifest's folder (`..`) keeps its whole absolute path without the
//!   leading `/` (use `--root` to shorten it).
//!
//! The output is that name under `--out-dir`, its extension replaced by `.npy` (a frame
//! folder's name gets `.npy` appended): `abseiling/x.mp4` -> `OUT/abseiling/x.npy`,
//! `12345` -> `OUT/12345.npy`. With `--format safetensors` the extension is `.safetensors`
//! instead (`OUT/abseiling/x.safetensors`); `--dtype` does not change the name (the record
//! tells an `f16` `.npy` from an `f32` one, see below). The same input given twice (the same path once made absolute
//! and normalised lexically) is one job; given twice with different output names, or two
//! inputs with one output name (`a.mp4` and `a.webm`), is a usage error naming both.
//! Inputs are sorted by output name; `--shard I/N` keeps every N-th from position I, so N
//! machines that see the same dataset split it exactly.
//!
//! # Annotation lists
//!
//! `--list FILE --list-format video|rawframes|sthv1|sthv2` (with `--labels FILE` for the
//! Something-Something formats) takes the inputs from an annotation list instead
//! ([`mixdata::list`]): each clip is the list's path resolved against `--root` (default: the
//! list's folder) and named by that path as the list writes it (the manifest rule: a relative
//! path inside the root as written, an absolute or climbing one by its absolute path without
//! the leading `/`). Frame folders of rawframe and V1 lists are read by the format's template
//! (`img_{:05}.jpg`, `{:05}.jpg`; `--template`/`--start` override it) and a rawframe list's
//! frame count is checked. A clip's index is its position in the list; with `--train --seed
//! S --epoch E` it is mixed with mixdata's seed for `(S, E, index)`
//! ([`mixdata::seed::sample_seed`]). Without a list the index is the position in the input
//! list sorted by output name.
//!
//! With a list, the run writes `OUT/index.jsonl` (`index-shard-I-of-N.jsonl` with `--shard`)
//! atomically at its end: one JSON object per output, by index, `{"index", "output"
//! (relative to OUT), "input" (as the list writes it), "labels", "frames" (F), "shape" (the
//! `.npy`'s), "dtype" (`f32`, `f16`, `bf16`), "format" (`npy`, `safetensors`), "seed" (null in test mode), "geometry" (the transform as applied: resize, crop,
//! flip; [`record::geometry`]), "views" (every view's geometry, in the order of the `.npy`'s
//! views: one, or three with `--crop-mode three`), "segments": [{"frames" (positions),
//! "numerators", "denominator", "window"}]}`. Outputs skipped as current get their line from their record
//! (F and shape; the plan is the key's, the labels the list's), so the index is complete
//! after any resumed run; inputs that failed are in the failure report instead.
//!
//! # Safety and resuming
//!
//! Before anything is decoded, every input and every file the run may write (each `.npy`, its
//! preview and its record, the failure report) are compared by identity
//! ([`crate::identity`]): an output that is an input (also through a hard or symbolic link),
//! two outputs that are one file, or an output inside an input frame folder is a usage error
//! naming both paths.
//!
//! Each output gets a record, `OUT.npy.json` ([`crate::record`]), written after the `.npy`:
//! what made it (mixcli version, options, the input's path and its size and time). A rerun
//! skips an output only when its record matches this run exactly; an output made with other
//! options or from a changed input is redone ("stale"), and so is a `.npy` without a record
//! (an older mixcli, or a run killed between writing the `.npy` and its record): no output is
//! kept whose origin is unknown. `--overwrite` redoes everything. `--jobs` workers mix inputs
//! in parallel, the largest video files first (`dispatch_order`); a broken input never stops
//! the others: its error goes to a JSON-lines report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use walkdir::WalkDir;

use crate::args::{BatchArgs, Shard};
use crate::atomic;
use crate::error::{Error, Problem, Result};
use crate::identity::{self, Claims, Identity, lexical_absolute, normalise};
use crate::json;
use crate::mixing::{self, MixRequest};
use crate::record::{self, Freshness};
use crate::tensor::{Format, Store};
pub use mixdata::source::folder::VIDEO_EXTENSIONS;
use mixdata::source::folder::{self as frames_dir, DirKind};

/// One input of a batch and where its output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The input (video file or frame folder), as given or found.
    pub input: PathBuf,
    /// Its name under the output folder (see the module docs), before `.npy`.
    pub relative: PathBuf,
    /// The `.npy` to write.
    pub output: PathBuf,
    /// The clip's index, which `--epoch` derives its seed from: its position in the `--list`,
    /// or else in the input list sorted by output name (before `--shard`).
    pub index: usize,
    /// What the `--list` says of the clip (labels, kind, frame count); `None` without a list.
    pub entry: Option<mixdata::Entry>,
}

impl Job {
    /// The preview PNG of this job's output.
    #[must_use]
    pub fn preview(&self) -> PathBuf {
        self.output.with_extension("png")
    }
}

/// An input and its name under the output folder, before the jobs are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// The input, as given or found.
    pub input: PathBuf,
    /// Its name (see the module docs).
    pub relative: PathBuf,
}

/// A line of a manifest: the input it names and the line's own name for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestLine {
    /// The input: the line, relative to the manifest's folder unless absolute.
    pub input: PathBuf,
    /// The name its output gets without `--root`: the line, normalised, when relative and
    /// inside the manifest's folder; else the input's absolute path without the root.
    pub name: PathBuf,
}

/// Reads a manifest: one path per line (relative ones resolved against the manifest's
/// folder), empty lines and lines starting with `#` skipped.
///
/// # Errors
/// The manifest cannot be read.
pub fn read_manifest(manifest: &Path) -> Result<Vec<ManifestLine>> {
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
        let input = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        };
        let written = normalise(p);
        let name = if p.is_relative() && !written.starts_with("..") {
            written
        } else {
            without_root(&lexical_absolute(&input))
        };
        out.push(ManifestLine { input, name });
    }
    Ok(out)
}

/// The normal components of `path` (no root, no `.`/`..`).
fn without_root(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}

/// Searches folders for inputs, skipping the output folder.
struct Search {
    /// The output folder's identity, when it exists: never searched.
    skip: Option<Identity>,
    /// Notes for the user (folders with images that gave no input).
    notes: Vec<String>,
}

impl Search {
    /// True when `p` is a folder to search (not a frame folder).
    fn is_search_folder(p: &Path) -> bool {
        p.is_dir() && frames_dir::classify(p).is_ok_and(|k| k != DirKind::Frames)
    }

    /// The inputs under the search folder `dir`: paths `dir.join(...)`, in name order. A
    /// frame folder is one input and is not descended into; hidden entries, the output folder
    /// and symbolic links back to a folder being searched (a loop) are passed over; two links
    /// to one folder elsewhere are both searched, each input named by its own path.
    fn search(&mut self, dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        // Folders with images that are not frame folders, and how many inputs came before them.
        let mut mixed: Vec<(PathBuf, usize)> = Vec::new();
        let mut walk = WalkDir::new(dir)
            .follow_links(true)
            .max_depth(MAX_SEARCH_DEPTH)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0 || e.file_name().as_encoded_bytes().first() != Some(&b'.')
            });
        while let Some(entry) = walk.next() {
            // A link loop, or a folder whose listing fails after `classify` read it: nothing
            // more to find there.
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if !entry.file_type().is_dir() {
                if frames_dir::has_video_extension(path) {
                    found.push(path.to_path_buf());
                }
                continue;
            }
            if entry.depth() > 0
                && self
                    .skip
                    .as_ref()
                    .is_some_and(|s| *s == identity::identify(path))
            {
                walk.skip_current_dir();
                continue;
            }
            match frames_dir::classify(path) {
                Ok(DirKind::Frames) | Err(_) => {
                    // A frame folder is one input; an unreadable folder is an input that
                    // fails, naming the problem.
                    found.push(path.to_path_buf());
                    walk.skip_current_dir();
                }
                Ok(DirKind::Mixed) => mixed.push((path.to_path_buf(), found.len())),
                Ok(_) => {}
            }
        }
        for (folder, before) in mixed {
            if !found[before..].iter().any(|p| p.starts_with(&folder)) {
                self.notes.push(format!(
                    "{}: holds images but is not a frame folder (it also holds videos, sub-folders or .npy files), and no input was found in it",
                    folder.display()
                ));
            }
        }
        found
    }
}

/// How deep a batch search descends below a folder given on the command line.
const MAX_SEARCH_DEPTH: usize = 64;

/// The name under `root` of `input`: lexically, or else through the canonical form of the
/// input's folder (the input's own name is kept, never a link's target).
fn name_under_root(input: &Path, root: &Path) -> Result<PathBuf> {
    let abs = lexical_absolute(input);
    let root_abs = lexical_absolute(root);
    let lexical = abs.strip_prefix(&root_abs).ok().map(Path::to_path_buf);
    let through_links = || {
        let canonical_root = std::fs::canonicalize(root).ok()?;
        let parent = std::fs::canonicalize(abs.parent()?).ok()?;
        let name = parent.join(abs.file_name()?);
        name.strip_prefix(canonical_root)
            .ok()
            .map(Path::to_path_buf)
    };
    match lexical.or_else(through_links) {
        Some(rel) if !rel.as_os_str().is_empty() => Ok(rel),
        Some(_) => Err(Error::usage(format!(
            "batch: the input {} is the --root folder itself; give --root a folder above it",
            input.display()
        ))),
        None => Err(Error::usage(format!(
            "batch: the input {} is not inside --root {}",
            input.display(),
            root.display()
        ))),
    }
}

/// The own name of an input given directly (its last component, `.` and `..` resolved).
fn own_name(input: &Path) -> Result<PathBuf> {
    lexical_absolute(input)
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::usage(format!(
                "batch: {} has no name to give its output; use --root",
                input.display()
            ))
        })
}

/// Gathers the inputs of the arguments and manifest lines with their names (see the module
/// docs); `out_dir` is never searched. Returns the inputs and the notes to show.
///
/// # Errors
/// An input outside `root`, an input without a name.
pub fn gather(
    args: &[PathBuf],
    manifest_lines: &[ManifestLine],
    root: Option<&Path>,
    out_dir: &Path,
) -> Result<(Vec<Named>, Vec<String>)> {
    let mut search = Search {
        skip: out_dir.exists().then(|| identity::identify(out_dir)),
        notes: Vec::new(),
    };
    let mut named = Vec::new();
    // `given` is the argument or line; `name` its own name without --root.
    let mut add = |given: &Path, name: &dyn Fn() -> Result<PathBuf>| -> Result<()> {
        if Search::is_search_folder(given) {
            for found in search.search(given) {
                let relative = match root {
                    Some(r) => name_under_root(&found, r)?,
                    None => {
                        let below = found.strip_prefix(given).unwrap_or(&found);
                        name()?.join(below)
                    }
                };
                named.push(Named {
                    input: found,
                    relative,
                });
            }
        } else {
            let relative = match root {
                Some(r) => name_under_root(given, r)?,
                None => {
                    let n = name()?;
                    if n.as_os_str().is_empty() {
                        own_name(given)?
                    } else {
                        n
                    }
                }
            };
            named.push(Named {
                input: given.to_path_buf(),
                relative,
            });
        }
        Ok(())
    };
    for a in args {
        // A folder argument's finds are named below it; a direct input by its own name.
        let direct = !Search::is_search_folder(a);
        add(a, &|| {
            if direct {
                own_name(a)
            } else {
                Ok(PathBuf::new())
            }
        })?;
    }
    for line in manifest_lines {
        add(&line.input, &|| Ok(line.name.clone()))?;
    }
    Ok((named, search.notes))
}

/// The output of an input named `relative`: `.EXT` (`npy`, `safetensors`) replacing a file's
/// extension, appended to a folder's name.
fn output_name(folder: bool, relative: &Path, ext: &str) -> PathBuf {
    if folder {
        let mut name = relative.as_os_str().to_os_string();
        name.push(".");
        name.push(ext);
        PathBuf::from(name)
    } else {
        relative.with_extension(ext)
    }
}

/// The order in which `jobs` workers take `todo`'s jobs (positions in `todo`). One worker takes
/// them as they are. Several take the largest inputs first (longest processing time first): a
/// long clip handed out last would keep one worker busy while the others have nothing left to
/// take. A video's size on disk is the estimate of its work; a frame folder, which is not
/// measured (listing every folder before the first job starts would cost more than it saves),
/// and an input that cannot be read count as 0. Equal estimates keep their order. Only the
/// order of the work changes: outputs, `index.jsonl` (by clip) and records do not.
fn dispatch_order(todo: &[Job], jobs: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..todo.len()).collect();
    if jobs > 1 {
        let sizes: Vec<u64> = todo
            .iter()
            .map(|job| {
                std::fs::metadata(&job.input)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map_or(0, |m| m.len())
            })
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    }
    order
}

/// Makes the jobs of named inputs: one per input (the same input twice is one job), outputs
/// of `format` (its extension) under `out_dir`, sorted by output name.
///
/// # Errors
/// One input with two output names, or two inputs with one output name (a
/// [`Problem::Collision`] naming both).
pub fn plan_jobs(named: &[Named], out_dir: &Path, format: Format) -> Result<Vec<Job>> {
    plan_jobs_by(named, out_dir, format, |i| named[i].input.is_dir())
}

/// [`plan_jobs`], `is_folder(i)` telling whether input `i` is a frame folder (its output
/// name gets `.npy` appended instead of replacing an extension).
fn plan_jobs_by(
    named: &[Named],
    out_dir: &Path,
    format: Format,
    is_folder: impl Fn(usize) -> bool,
) -> Result<Vec<Job>> {
    let mut by_input: HashMap<PathBuf, usize> = HashMap::new();
    let mut by_output: HashMap<PathBuf, usize> = HashMap::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (i, n) in named.iter().enumerate() {
        let relative = normalise(&n.relative);
        let output = out_dir.join(output_name(is_folder(i), &relative, format.extension()));
        let key = lexical_absolute(&n.input);
        if let Some(&i) = by_input.get(&key) {
            if jobs[i].output == output {
                continue;
            }
            return Err(Error::bare(Problem::Collision {
                first: jobs[i].input.clone(),
                second: n.input.clone(),
                message: format!(
                    "batch: {} is given twice with different output names ({} and {}); give it once, or use --root",
                    n.input.display(),
                    jobs[i].output.display(),
                    output.display()
                ),
            }));
        }
        if let Some(&i) = by_output.get(&normalise(&output)) {
            return Err(Error::bare(Problem::Collision {
                first: jobs[i].input.clone(),
                second: n.input.clone(),
                message: format!(
                    "batch: the inputs {} and {} would both be written to {}; rename one, or mix them in separate runs",
                    jobs[i].input.display(),
                    n.input.display(),
                    output.display()
                ),
            }));
        }
        by_input.insert(key, jobs.len());
        by_output.insert(normalise(&output), jobs.len());
        jobs.push(Job {
            input: n.input.clone(),
            relative,
            output,
            index: 0,
            entry: None,
        });
    }
    jobs.sort_by(|a, b| a.output.cmp(&b.output));
    for (index, job) in jobs.iter_mut().enumerate() {
        job.index = index;
    }
    Ok(jobs)
}

/// The name an annotation list's clip gives its output (the manifest rule, with the list's
/// root for the manifest's folder): the path as written when it is relative and stays inside
/// the root, else the clip's absolute path without the leading `/`.
fn list_name(entry: &mixdata::Entry) -> PathBuf {
    let written = normalise(&entry.written);
    if entry.written.is_relative() && !written.starts_with("..") && !written.as_os_str().is_empty()
    {
        written
    } else {
        without_root(&lexical_absolute(&entry.path))
    }
}

/// The jobs of an annotation list's clips (see the module docs): outputs of `format` named by
/// the list's paths under `out_dir`, each job's index its clip's position in the list, sorted by output
/// name. A clip listed twice with one output is one job (its first line's).
///
/// # Errors
/// Two clips with one output name, one clip with two ([`Problem::Collision`]).
pub fn list_jobs(entries: &[mixdata::Entry], out_dir: &Path, format: Format) -> Result<Vec<Job>> {
    let named: Vec<Named> = entries
        .iter()
        .map(|e| Named {
            input: e.path.clone(),
            relative: list_name(e),
        })
        .collect();
    let mut jobs = plan_jobs_by(&named, out_dir, format, |i| {
        entries[i].kind == mixdata::SourceKind::Frames
    })?;
    // plan_jobs numbered the jobs in output order; a list's clips are numbered by their line.
    let position: HashMap<PathBuf, usize> = entries
        .iter()
        .enumerate()
        .rev()
        .map(|(i, e)| (lexical_absolute(&e.path), i))
        .collect();
    for job in &mut jobs {
        if let Some(&i) = position.get(&lexical_absolute(&job.input)) {
            job.index = i;
            job.entry = Some(entries[i].clone());
        }
    }
    Ok(jobs)
}

/// Refuses a run in which a file it may write is an input or another such file (see
/// [`crate::identity`]): every job's `.npy`, record and (with `preview`) preview, the report
/// and (with `--list`) the index.
///
/// # Errors
/// A [`Problem::Collision`] naming both paths.
pub fn check_collisions(
    jobs: &[Job],
    preview: bool,
    report: &Path,
    index: Option<&Path>,
) -> Result<()> {
    let mut claims = Claims::new();
    for job in jobs {
        claims.input(
            &job.input,
            &format!("the input of {}", job.output.display()),
        )?;
    }
    for job in jobs {
        let of = job.input.display();
        claims.output(&job.output, &format!("the output of {of}"))?;
        claims.output(
            &record::path_for(&job.output),
            &format!("the record of {of}"),
        )?;
        if preview {
            claims.output(&job.preview(), &format!("the preview of {of}"))?;
        }
    }
    if let Some(index) = index {
        claims.output(index, "the index of the outputs")?;
    }
    claims.output(report, "the failure report")
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

/// `f` over `items` on `threads` threads; results in the items' order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            let (tx, next, f) = (tx.clone(), &next, &f);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, f(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            out[i] = Some(r);
        }
    });
    out.into_iter().flatten().collect()
}

enum Outcome {
    Done {
        frames: u32,
        shape: Vec<usize>,
        geometry: Value,
        views: Value,
        secs: f64,
    },
    Failed(Error),
}

/// How one job is mixed: the run's request with the job's own seed (`--epoch`), and how its
/// input is opened.
struct JobSetup<'a> {
    req: MixRequest<'a>,
    store: Store,
    template: Option<&'a mixdata::FrameTemplate>,
}

impl JobSetup<'_> {
    fn open(&self, job: &Job) -> Result<mixdata::Source> {
        let (kind, frames) = job
            .entry
            .as_ref()
            .map_or((mixdata::SourceKind::Any, None), |e| (e.kind, e.frames));
        Ok(mixdata::Source::open_with(
            &job.input,
            &mixdata::OpenOptions {
                template: self.template,
                kind,
                frames,
            },
        )?)
    }
}

fn run_job(job: &Job, setup: &JobSetup<'_>, preview: bool) -> Outcome {
    let start = Instant::now();
    let req = &setup.req;
    let result = (|| -> Result<(u32, Vec<usize>, Value, Value)> {
        if let Some(dir) = job.output.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(dir, "creating the output folder", e))?;
        }
        // The key is taken before decoding: an input that changes meanwhile is redone next time.
        let key = record::key(req, setup.store, &job.input, setup.template);
        let preview_path = preview.then(|| job.preview());
        let input = setup.open(job)?;
        let mixed = mixing::mix_input(&input, req)?;
        mixing::write_outputs(
            &mixed,
            req,
            setup.store,
            &job.output,
            preview_path.as_deref(),
        )?;
        record::write(&job.output, &key, &job.input, &mixed, req, setup.store)?;
        Ok((
            mixed.frames,
            mixed.full_shape(),
            record::geometry(&mixed.transform),
            record::views(&mixed.views),
        ))
    })();
    match result {
        Ok((frames, shape, geometry, views)) => Outcome::Done {
            frames,
            shape,
            geometry,
            views,
            secs: start.elapsed().as_secs_f64(),
        },
        Err(e) => Outcome::Failed(e),
    }
}

/// One line of `index.jsonl`: the output (relative to the output folder), the clip as the list
/// writes it, its index and labels, F, the shape, the seed, the geometry the clip was mixed
/// with ([`record::geometry`]: the first view's), every view's geometry in the order of the
/// output's views ([`record::views`]) and the plan's segments.
fn index_line(
    job: &Job,
    req: &MixRequest<'_>,
    store: Store,
    out_dir: &Path,
    frames: u32,
    shape: &[usize],
    (geometry, views): (&Value, &Value),
) -> Value {
    let output = job.output.strip_prefix(out_dir).unwrap_or(&job.output);
    let (input, labels) = job.entry.as_ref().map_or_else(
        || (job.input.clone(), Vec::new()),
        |e| (e.written.clone(), e.labels.clone()),
    );
    let seed = match req.plan.mode {
        mixcore::Mode::Train { seed } => Value::from(seed),
        mixcore::Mode::Test => Value::Null,
    };
    serde_json::json!({
        "index": job.index,
        "output": output.to_string_lossy(),
        "input": input.to_string_lossy(),
        "labels": labels,
        "frames": frames,
        "shape": shape,
        "dtype": store.dtype.to_string(),
        "format": store.format.to_string(),
        "seed": seed,
        "geometry": geometry,
        "views": views,
        "segments": record::segments(&req.plan, frames),
    })
}

/// Removes what killed runs left of these jobs' outputs: one scan per output folder, and
/// only temporary files of these outputs that no live writer holds (other shards' are
/// theirs to clean).
fn remove_stale_temps(jobs: &[Job], preview: bool) {
    let mut by_dir: BTreeMap<PathBuf, HashSet<String>> = BTreeMap::new();
    for job in jobs {
        let Some(dir) = job.output.parent() else {
            continue;
        };
        let names = by_dir.entry(dir.to_path_buf()).or_default();
        let record = record::path_for(&job.output);
        let png = job.preview();
        let files = [Some(&job.output), Some(&record), preview.then_some(&png)];
        for file in files.into_iter().flatten() {
            if let Some(name) = file.file_name() {
                names.insert(name.to_string_lossy().into_owned());
            }
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
    /// Inputs skipped because their output is current (its record matches this run).
    pub skipped: usize,
    /// Inputs that failed.
    pub failed: usize,
    /// Inputs mixed again because their output was stale: made with other options, from a
    /// changed input or by another mixcli version (counted in `mixed` or `failed` too).
    pub stale: usize,
    /// Inputs mixed again because their output had no record (counted in `mixed` or `failed`
    /// too).
    pub unrecorded: usize,
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
        let line = json::line(&serde_json::json!({
            "input": job.input.to_string_lossy(),
            "output": job.output.to_string_lossy(),
            "kind": error.problem.kind(),
            "error": error.to_string(),
        }));
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
/// Bad options, an unreadable manifest, no inputs at all, inputs or outputs that collide, an
/// unwritable report.
pub fn run(args: &BatchArgs) -> Result<Summary> {
    let plan = args.plan.config()?;
    let threads = args.threads;
    let req = args.out.request(plan, threads)?;
    let store = args.store.store(None)?;
    let format = args.list.as_ref().map(|_| args.list_format);
    let template = args
        .data
        .template(format.and_then(mixdata::ListFormat::default_template))?;
    crate::device::check(req.device).map_err(Error::device)?;

    let all = match &args.list {
        Some(list) => {
            if !args.inputs.is_empty() || !args.manifest.is_empty() {
                return Err(Error::usage(
                    "batch: --list names every input; give no other paths or --manifest with it",
                ));
            }
            if args.list_format.needs_labels() && args.labels.is_none() {
                return Err(Error::usage(format!(
                    "batch: a --list-format {} list needs its label file: --labels FILE",
                    args.list_format
                )));
            }
            let root = args.root.clone().unwrap_or_else(|| {
                list.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            });
            let entries =
                mixdata::list::read(args.list_format, list, &root, args.labels.as_deref())?;
            if entries.is_empty() {
                return Err(Error::usage(format!(
                    "batch: the list {} names no clip",
                    list.display()
                )));
            }
            list_jobs(&entries, &args.out_dir, store.format)?
        }
        None => {
            let mut lines = Vec::new();
            for m in &args.manifest {
                lines.extend(read_manifest(m)?);
            }
            if args.inputs.is_empty() && lines.is_empty() {
                return Err(Error::usage(
                    "batch: no inputs (give paths, --manifest FILE or --list FILE)",
                ));
            }
            let (named, notes) = gather(&args.inputs, &lines, args.root.as_deref(), &args.out_dir)?;
            for note in &notes {
                eprintln!("batch: note: {note}");
            }
            plan_jobs(&named, &args.out_dir, store.format)?
        }
    };
    if all.is_empty() {
        return Err(Error::usage(
            "batch: no inputs found (no video files or frame folders in the given folders)",
        ));
    }
    let report_path = args.report.clone().unwrap_or_else(|| {
        args.out_dir.join(match args.shard {
            Some(s) => format!("mixcli-failures-shard-{}-of-{}.jsonl", s.index, s.count),
            None => "mixcli-failures.jsonl".into(),
        })
    });
    // The report is opened (and truncated) at the first failure and removed after a clean
    // run: only a regular file may be there.
    if atomic::check_output(&report_path, "--report")? == atomic::Destination::Stdout {
        return Err(Error::usage(
            "--report needs a file (the failure report is appended to as inputs fail); standard output is not supported",
        ));
    }
    let index_path = args.list.as_ref().map(|_| {
        args.out_dir.join(match args.shard {
            Some(s) => format!("index-shard-{}-of-{}.jsonl", s.index, s.count),
            None => "index.jsonl".into(),
        })
    });
    if let Some(index) = &index_path
        && atomic::check_output(index, "the index")? == atomic::Destination::Stdout
    {
        return Err(Error::usage("the index must be a file"));
    }
    check_collisions(&all, args.preview, &report_path, index_path.as_deref())?;
    let total_inputs = all.len();
    let jobs = shard_jobs(all, args.shard);

    let start = Instant::now();
    let mut summary = Summary::default();
    let jobs_n = args
        .jobs
        .map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            |j| j as usize,
        )
        .clamp(1, crate::args::MAX_JOBS as usize);
    remove_stale_temps(&jobs, args.preview);
    if let Some(index) = &index_path {
        // What a killed run left of the index it was writing.
        atomic::remove_stale(index);
    }
    let freshness = if args.overwrite {
        vec![Freshness::Missing; jobs.len()]
    } else {
        par_map(&jobs, jobs_n, |job| {
            let req = job_request(&req, args, job);
            let key: Value = record::key(&req, store, &job.input, template.as_ref());
            let preview = args.preview.then(|| job.preview());
            record::check(&job.output, store, &key, preview.as_deref())
        })
    };
    let mut todo = Vec::new();
    // Lines of index.jsonl by clip index: skipped outputs' from their records.
    let mut index_lines: BTreeMap<usize, Value> = BTreeMap::new();
    for (job, fresh) in jobs.into_iter().zip(freshness) {
        match fresh {
            Freshness::Current if index_path.is_none() => summary.skipped += 1,
            Freshness::Current => {
                let req = job_request(&req, args, &job);
                if let Some((frames, shape, geometry, views)) = record::output_of(&job.output) {
                    summary.skipped += 1;
                    let line = index_line(
                        &job,
                        &req,
                        store,
                        &args.out_dir,
                        frames,
                        &shape,
                        (&geometry, &views),
                    );
                    index_lines.insert(job.index, line);
                } else {
                    // A record without what came out says too little to keep it.
                    summary.unrecorded += 1;
                    todo.push(job);
                }
            }
            Freshness::Missing => todo.push(job),
            Freshness::Stale => {
                summary.stale += 1;
                todo.push(job);
            }
            Freshness::Unrecorded => {
                summary.unrecorded += 1;
                todo.push(job);
            }
        }
    }
    let shard_note = args
        .shard
        .map(|s| format!(" (shard {}/{} of {total_inputs} inputs)", s.index, s.count))
        .unwrap_or_default();
    eprintln!(
        "batch: {} inputs{shard_note}, {} already done, {} to mix{}",
        todo.len() + summary.skipped,
        summary.skipped,
        todo.len(),
        redone_note(&summary)
    );

    let jobs_n = jobs_n.min(todo.len().max(1));
    let mut report = Report {
        path: report_path,
        file: None,
    };
    let mut progress = Progress::new(todo.len());
    let order = dispatch_order(&todo, jobs_n);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let mut report_error = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs_n {
            let tx = tx.clone();
            let (next, order, todo, req, template) = (&next, &order, &todo, &req, &template);
            scope.spawn(move || {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let job = &todo[i];
                    let setup = JobSetup {
                        req: job_request(req, args, job),
                        store,
                        template: template.as_ref(),
                    };
                    let outcome = run_job(job, &setup, args.preview);
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
                Outcome::Done {
                    frames,
                    shape,
                    geometry,
                    views,
                    secs,
                } => {
                    summary.mixed += 1;
                    if index_path.is_some() {
                        let req = job_request(&req, args, job);
                        let line = index_line(
                            job,
                            &req,
                            store,
                            &args.out_dir,
                            frames,
                            &shape,
                            (&geometry, &views),
                        );
                        index_lines.insert(job.index, line);
                    }
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
    if let Some(path) = &index_path {
        write_index(path, index_lines.values())?;
    }
    if summary.failed == 0 && report.path.is_file() {
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
        "batch: {} mixed, {} skipped (already done), {} failed, in {secs:.1} s ({rate:.1} inputs/s){}{}",
        summary.mixed,
        summary.skipped,
        summary.failed,
        redone_note(&summary),
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

/// The request of one job: the run's, with the job's own train seed under `--epoch`.
fn job_request<'a>(req: &MixRequest<'a>, args: &BatchArgs, job: &Job) -> MixRequest<'a> {
    MixRequest {
        plan: args.data.plan_for(req.plan, job.index as u64),
        ..*req
    }
}

/// Writes `index.jsonl` atomically: one JSON object per line, by clip index.
fn write_index<'v>(path: &Path, lines: impl Iterator<Item = &'v Value>) -> Result<()> {
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating", e))?;
    }
    atomic::write_all(path, text.as_bytes())
}

/// "; redone: 2 stale (...), 1 without a record" when any output was redone.
fn redone_note(summary: &Summary) -> String {
    let mut parts = Vec::new();
    if summary.stale > 0 {
        parts.push(format!(
            "{} stale (made with other options, from a changed input or by another mixcli)",
            summary.stale
        ));
    }
    if summary.unrecorded > 0 {
        parts.push(format!(
            "{} without a record of what made them",
            summary.unrecorded
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; redone: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(items: &[(&str, &str)]) -> Vec<Named> {
        items
            .iter()
            .map(|(i, r)| Named {
                input: PathBuf::from(i),
                relative: PathBuf::from(r),
            })
            .collect()
    }

    #[test]
    fn plan_jobs_sorts_by_output_and_dedups_the_same_input() {
        let jobs = plan_jobs(
            &named(&[
                ("/data/k/b/y.webm", "b/y.webm"),
                ("/data/k/a/x.mp4", "a/x.mp4"),
                ("/data/k/./a/x.mp4", "a/x.mp4"),
            ]),
            Path::new("/out"),
            Format::Npy,
        )
        .unwrap();
        let outs: Vec<_> = jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(
            outs,
            vec![PathBuf::from("/out/a/x.npy"), PathBuf::from("/out/b/y.npy")]
        );
    }

    #[test]
    fn several_workers_take_the_largest_inputs_first() {
        let dir = framemix_testkit::TempDir::new("dispatch-order");
        let mut named = Vec::new();
        for (name, bytes) in [
            ("a.mp4", 10),
            ("b.mp4", 300),
            ("c", 0),
            ("d.mp4", 300),
            ("e.mp4", 20),
        ] {
            let path = dir.join(name);
            if name == "c" {
                std::fs::create_dir(&path).unwrap();
            } else {
                std::fs::write(&path, vec![0u8; bytes]).unwrap();
            }
            named.push(Named {
                input: path,
                relative: PathBuf::from(name),
            });
        }
        // An input gone since it was listed counts as 0, like the folder.
        named.push(Named {
            input: dir.join("gone.mp4"),
            relative: PathBuf::from("f.mp4"),
        });
        let jobs = plan_jobs_by(&named, Path::new("/out"), Format::Npy, |i| i == 2).unwrap();
        let names = |order: Vec<usize>| -> Vec<String> {
            order
                .into_iter()
                .map(|i| jobs[i].relative.display().to_string())
                .collect()
        };
        assert_eq!(
            names(dispatch_order(&jobs, 1)),
            ["a.mp4", "b.mp4", "c", "d.mp4", "e.mp4", "f.mp4"]
        );
        assert_eq!(
            names(dispatch_order(&jobs, 2)),
            ["b.mp4", "d.mp4", "e.mp4", "a.mp4", "c", "f.mp4"]
        );
    }

    #[test]
    fn plan_jobs_refuses_two_inputs_with_one_output() {
        let e = plan_jobs(
            &named(&[("/d/b/y.webm", "b/y.webm"), ("/d/b/y.mp4", "b/y.mp4")]),
            Path::new("/out"),
            Format::Npy,
        )
        .unwrap_err();
        assert!(matches!(e.problem, Problem::Collision { .. }));
        let text = e.to_string();
        assert!(
            text.contains("/d/b/y.webm") && text.contains("/d/b/y.mp4"),
            "{text}"
        );
        let e = plan_jobs(
            &named(&[("/d/a.mp4", "a.mp4"), ("/d/a.mp4", "x/a.mp4")]),
            Path::new("/out"),
            Format::Npy,
        )
        .unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
    }

    #[test]
    fn shard_jobs_cover_every_job_once() {
        let inputs: Vec<Named> = (0..11)
            .map(|i| Named {
                input: PathBuf::from(format!("/d/{i}.mp4")),
                relative: PathBuf::from(format!("{i}.mp4")),
            })
            .collect();
        let jobs = plan_jobs(&inputs, Path::new("/o"), Format::Npy).unwrap();
        let mut seen = Vec::new();
        for index in 0..4 {
            seen.extend(shard_jobs(jobs.clone(), Some(Shard { index, count: 4 })));
        }
        seen.sort_by(|a, b| a.output.cmp(&b.output));
        assert_eq!(seen, jobs);
    }

    #[test]
    fn manifest_lines_keep_their_own_names() {
        let dir = std::env::temp_dir().join(format!("mixcli-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = dir.join("list.txt");
        std::fs::write(&m, "# c\n\ntrain/./a.mp4\n/abs/b.mp4\n../up/c.mp4\n").unwrap();
        let lines = read_manifest(&m).unwrap();
        let names: Vec<_> = lines.iter().map(|l| l.name.clone()).collect();
        let up = without_root(&lexical_absolute(&dir.join("../up/c.mp4")));
        assert_eq!(
            names,
            vec![PathBuf::from("train/a.mp4"), PathBuf::from("abs/b.mp4"), up]
        );
        assert_eq!(lines[0].input, dir.join("train/./a.mp4"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn name_under_root_is_lexical_and_refuses_outsiders() {
        assert_eq!(
            name_under_root(Path::new("/r/a/../b/x.mp4"), Path::new("/r/")).unwrap(),
            PathBuf::from("b/x.mp4")
        );
        assert!(name_under_root(Path::new("/s/x.mp4"), Path::new("/r")).is_err());
        assert!(name_under_root(Path::new("/r"), Path::new("/r")).is_err());
    }
}
