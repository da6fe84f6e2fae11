//! `loaderbench`: video files to tensors through mixdata's [`Loader`], clips per second.
//!
//! Every file (each `--repeat` times) is one sample of a dataset with the default plan (8
//! segments, all frames, linear weights, test mode), raw f32 values in `tchw`, no resize or
//! crop, mixed on the CPU. Clips of different sizes keep their own shapes: the loader is
//! ragged (batches of one sample, each buffer sized to its clip; [`LoaderConfig::ragged`]),
//! and every batch buffer is handed back for reuse, as a training loop would. `--workers W`
//! worker threads decode and mix, `--workers 0` the calling thread. `--threads T` is the
//! dataset's decoder threads per clip: 1 (the default) keeps each clip on its worker's
//! thread, as the `ffmpeg` program's `-threads 1` floor does; other values let FFmpeg thread
//! the decoder and decode on a thread of its own ahead of the conversion and the mix
//! ([`mixdata::MixRequest::threads`]).
//!
//!     cargo run --release --bin loaderbench -- [--workers W] [--repeat K] [--threads T] [--json] FILE...
//!
//! The time runs from the loader's creation to the end of the epoch (opening, counting,
//! decoding, colour conversion and mixing of every clip). The last line is
//! `{"clips": n, "seconds": t, "clips_per_s": r, "workers": W, ...}` with `--json`
//! (also `repeat`, `threads`, `values`, the number of f32 values produced, `cpu_seconds`,
//! the CPU time of every thread over the same span, user and system, and `max_rss_kib`, the
//! process's peak resident set from `/proc/self/status` `VmHWM`, to show that memory is flat
//! in the number of clips: compare `--repeat 1` with `--repeat 10`); a sentence without.
//! Any clip that fails ends the run with its error (exit status 1).
//!
//! `scripts/loader-bench.sh` runs it against the `ffmpeg` program's decode floor.

use std::process::ExitCode;

#[cfg(target_arch = "x86_64")]
fn main() -> ExitCode {
    run::main()
}

/// mixdata links FFmpeg, which the cross builds (aarch64) do not have.
#[cfg(not(target_arch = "x86_64"))]
fn main() -> ExitCode {
    eprintln!("loaderbench: built without mixdata (FFmpeg) on this target; run it on x86-64");
    ExitCode::FAILURE
}

#[cfg(target_arch = "x86_64")]
mod run {
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::time::Instant;

    use mixdata::{Dataset, DatasetConfig, Entry, Loader, LoaderConfig, SourceKind};

    const USAGE: &str =
        "usage: loaderbench [--workers W] [--repeat K] [--threads T] [--json] FILE...";

    struct Args {
        workers: usize,
        repeat: usize,
        threads: usize,
        json: bool,
        files: Vec<PathBuf>,
    }

    fn number(flag: &str, value: Option<String>, min: usize) -> Result<usize, String> {
        match value.as_deref().map(str::parse::<usize>) {
            Some(Ok(n)) if n >= min => Ok(n),
            _ => Err(format!(
                "{flag} needs a whole number of at least {min} (got {})",
                value.as_deref().unwrap_or("nothing")
            )),
        }
    }

    fn parse() -> Result<Option<Args>, String> {
        let mut args = Args {
            workers: 1,
            repeat: 1,
            threads: 1,
            json: false,
            files: Vec::new(),
        };
        let mut it = std::env::args_os().skip(1);
        let mut only_files = false;
        while let Some(a) = it.next() {
            let flag = a.to_str().filter(|s| !only_files && s.starts_with('-'));
            let mut value = || it.next().map(|v| v.to_string_lossy().into_owned());
            match flag {
                None => args.files.push(PathBuf::from(a)),
                Some("--") => only_files = true,
                Some("--workers") => args.workers = number("--workers", value(), 0)?,
                Some("--repeat") => args.repeat = number("--repeat", value(), 1)?,
                Some("--threads") => args.threads = number("--threads", value(), 0)?,
                Some("--json") => args.json = true,
                Some("-h" | "--help") => {
                    println!("{USAGE}");
                    return Ok(None);
                }
                Some(other) => return Err(format!("unknown option {other:?}\n{USAGE}")),
            }
        }
        if args.files.is_empty() {
            return Err(format!("no input files\n{USAGE}"));
        }
        Ok(Some(args))
    }

    /// CPU seconds the process has used so far, every thread, user and system
    /// (`/proc/self/stat`, in the kernel's clock ticks of 1/100 s).
    fn cpu_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    /// The process's peak resident set in KiB (`VmHWM`), when the kernel reports it.
    fn max_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn main() -> ExitCode {
        let args = match parse() {
            Ok(Some(args)) => args,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loaderbench: {e}");
                return ExitCode::from(2);
            }
        };
        let entries: Vec<Entry> = (0..args.repeat)
            .flat_map(|_| args.files.iter())
            .enumerate()
            .map(|(i, path)| Entry {
                path: path.clone(),
                written: path.clone(),
                labels: Vec::new(),
                kind: SourceKind::Video,
                frames: None,
                template: None,
                line: i + 1,
            })
            .collect();
        let config = DatasetConfig {
            threads: args.threads,
            ..DatasetConfig::default()
        };
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let mut clips = 0usize;
        let mut values = 0usize;
        let result = Dataset::new(entries, config).and_then(|dataset| {
            let loader = Loader::new(
                dataset,
                LoaderConfig {
                    batch_size: 1,
                    workers: args.workers,
                    ragged: true,
                    ..LoaderConfig::default()
                },
            )?;
            for batch in loader.epoch(0) {
                let batch = batch?;
                clips += batch.len();
                values += batch.data.len();
                loader.recycle(batch);
            }
            Ok(())
        });
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu_start).map(|(end, start)| end - start);
        if let Err(e) = result {
            eprintln!("loaderbench: {e}");
            return ExitCode::FAILURE;
        }
        let clips_per_s = clips as f64 / seconds;
        let rss = max_rss_kib();
        if args.json {
            let line = serde_json::json!({
                "clips": clips,
                "seconds": seconds,
                "clips_per_s": clips_per_s,
                "workers": args.workers,
                "repeat": args.repeat,
                "threads": args.threads,
                "values": values,
                "max_rss_kib": rss,
                "cpu_seconds": cpu,
            });
            println!("{line}");
        } else {
            let rss = rss.map_or("unknown".into(), |k| {
                format!("{:.1} MiB", k as f64 / 1024.0)
            });
            println!(
                "{clips} clips in {seconds:.3} s: {clips_per_s:.2} clips/s with {} workers (peak RSS {rss})",
                args.workers
            );
        }
        ExitCode::SUCCESS
    }
}
