//! Trains the TSN-style network on the synthetic order-sensitive dataset with every input
//! variant (TSN and Frame Mix-up schedules) and several seeds, then writes the results table
//! (markdown and CSV), a bar chart and a picture of what each variant feeds the network.
//!
//! `cargo run --release -p framemix-examples --bin trainer -- --help`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;

use framemix_examples::chart::{bar_chart, segment_grid};
use framemix_examples::dataset::{CLASSES, Class, Dataset, DatasetConfig};
use framemix_examples::output::{create_dir, write_text};
use framemix_examples::report::{Summary, csv, markdown_table};
use framemix_examples::train::{RunResult, TrainConfig, run};
use framemix_examples::variant::Variant;
use framemix_examples::videos::{VideoSet, write_temporary_videos, write_videos};
use framemix_examples::{Error, Result};

/// Frame Mix-up vs TSN on a synthetic dataset whose classes differ only in the order of
/// events. Every variant gets the same data, seeds, epochs and network.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Training seeds (comma-separated); each variant is trained once per seed.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Passes over the training split.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: u32,
    /// Variants to train (comma-separated): tsn, average, linear, linear-k5, linear-k3,
    /// linear0.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tsn,average,linear,linear-k5,linear-k3,linear0"
    )]
    variants: Vec<String>,
    /// Classes to train and test on (comma-separated; default all eight): left-to-right,
    /// right-to-left, approaching, receding, appearing, disappearing, static, oscillating.
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Folder for results.md, results.csv, results.png and samples.png [default:
    /// examples/results in this crate; a temporary folder with --smoke].
    #[arg(long)]
    out: Option<PathBuf>,
    /// CI smoke run: one epoch, the first seed only, 4 training and 2 test clips per class
    /// (--train-per-class and --test-per-class still override).
    #[arg(long)]
    smoke: bool,
    /// Training clips per class [default: 60; 4 with --smoke].
    #[arg(long)]
    train_per_class: Option<u32>,
    /// Test clips per class [default: 40; 2 with --smoke].
    #[arg(long)]
    test_per_class: Option<u32>,
    /// Seed of the dataset and its fixed train/test split.
    #[arg(long, default_value_t = DatasetConfig::default().seed)]
    dataset_seed: u64,
    /// Frame width and height (a multiple of 8).
    #[arg(long, default_value_t = DatasetConfig::default().size)]
    size: u32,
    /// Segments per clip (S).
    #[arg(long, default_value_t = TrainConfig::default().segments)]
    segments: u32,
    /// Clips per batch.
    #[arg(long, default_value_t = TrainConfig::default().batch)]
    batch: usize,
    /// Peak learning rate (AdamW, cosine decay).
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    lr: f64,
    /// Runs trained at once, each on one thread [default: the number of CPUs].
    #[arg(long)]
    jobs: Option<usize>,
    /// Loader threads per run that decode and mix the next batches from the video files
    /// while the network trains (0: on the training thread). Results do not depend on it.
    #[arg(long, default_value_t = TrainConfig::default().workers)]
    workers: usize,
    /// Keep the dataset's video files and lists in this new (or empty) folder [default: a
    /// temporary folder, removed at the end].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print only the final table.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    // candle's CPU kernels spread each small operation over every core and spin-wait for
    // the others; on a few shared cores that costs more than it gains. Run them on one thread
    // and train several runs at once instead (unless the user chose a thread count).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: this is the first statement of `main`; no other thread exists yet that
        // could read or write the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    framemix_examples::keep_freed_memory();
    let args = Args::parse();
    match real_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trainer: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: &Args) -> Result<()> {
    let started = Instant::now();
    let smoke = args.smoke;
    let defaults = DatasetConfig::default();
    let data_cfg = DatasetConfig {
        seed: args.dataset_seed,
        size: args.size,
        train_per_class: args.train_per_class.unwrap_or(if smoke {
            4
        } else {
            defaults.train_per_class
        }),
        test_per_class: args.test_per_class.unwrap_or(if smoke {
            2
        } else {
            defaults.test_per_class
        }),
        ..defaults
    };
    let train_cfg = TrainConfig {
        epochs: if smoke { 1 } else { args.epochs },
        batch: args.batch,
        lr: args.lr,
        segments: args.segments,
        workers: args.workers,
        ..TrainConfig::default()
    };
    let seeds: Vec<u64> = if smoke {
        args.seeds.iter().copied().take(1).collect()
    } else {
        args.seeds.clone()
    };
    if seeds.is_empty() {
        return Err(Error::Config("--seeds needs at least one seed".into()));
    }
    let mut variants = Vec::new();
    for name in &args.variants {
        let v = Variant::parse(name)?;
        if !variants.contains(&v) {
            variants.push(v);
        }
    }
    if variants.is_empty() {
        return Err(Error::Config(
            "--variants needs at least one variant".into(),
        ));
    }
    if !train_cfg.size_fits(data_cfg.size) {
        return Err(Error::Config(format!(
            "--size {} must be a multiple of 8",
            data_cfg.size
        )));
    }
    train_cfg.validate()?;
    data_cfg.validate()?;
    let out = args.out.clone().unwrap_or_else(|| {
        if smoke {
            std::env::temp_dir().join("framemix-examples-smoke")
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results")
        }
    });
    create_dir(&out)?;
    let say = |s: &str| {
        if !args.quiet {
            eprintln!("{s}");
        }
    };

    let classes: Vec<Class> = if args.classes.is_empty() {
        CLASSES.to_vec()
    } else {
        let mut chosen = Vec::new();
        for name in &args.classes {
            let c = Class::parse(name)?;
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        chosen
    };
    if classes.len() < 2 {
        return Err(Error::Config("--classes needs at least two classes".into()));
    }

    let t = Instant::now();
    let mut data = Dataset::generate(&data_cfg)?;
    data.retain_classes(&classes);
    let frames: u64 = data
        .train
        .iter()
        .chain(&data.test)
        .map(|c| u64::from(c.frames))
        .sum();
    say(&format!(
        "dataset: {} train + {} test clips, {} frames of {}x{}, generated in {:.1}s",
        data.train.len(),
        data.test.len(),
        frames,
        data_cfg.size,
        data_cfg.size,
        t.elapsed().as_secs_f64()
    ));

    let t = Instant::now();
    let videos = match &args.data {
        Some(dir) => write_videos(&data, dir)?,
        None => write_temporary_videos(&data)?,
    };
    let written = t.elapsed().as_secs_f64();
    say(&format!(
        "videos: {} mp4 files (H.264, lossless), {:.1} MB in {}, written in {written:.1}s",
        videos.train.len() + videos.test.len(),
        videos.bytes as f64 / 1e6,
        videos.root.display()
    ));

    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let plan: Vec<(Variant, u64)> = variants
        .iter()
        .flat_map(|&v| seeds.iter().map(move |&s| (v, s)))
        .collect();
    say(&format!(
        "training {} runs ({} variants x {} seeds, {} epochs each), {jobs} at a time",
        plan.len(),
        variants.len(),
        seeds.len(),
        train_cfg.epochs
    ));
    let results = train_all(&videos, &plan, &train_cfg, jobs, &say)?;

    let summaries: Vec<Summary> = variants
        .iter()
        .filter_map(|&v| {
            let runs: Vec<RunResult> = results.iter().filter(|r| r.variant == v).cloned().collect();
            Summary::of(v, runs)
        })
        .collect();
    let table = markdown_table(&summaries);
    let elapsed = started.elapsed().as_secs_f64();
    let chance = 100.0 / classes.len() as f64;
    let md = results_markdown(
        args, &data, &classes, &train_cfg, &seeds, &table, elapsed, jobs,
    );
    write_text(&out.join("results.md"), &md)?;
    write_text(&out.join("results.csv"), &csv(&summaries))?;
    let title = format!(
        "TOP-1, {} CLASSES, {} TEST CLIPS, {} SEGMENTS, {} EPOCHS",
        classes.len(),
        data.test.len(),
        train_cfg.segments,
        train_cfg.epochs
    );
    bar_chart(&summaries, &title, chance).write_png(&out.join("results.png"))?;
    let shown: Vec<_> = [Class::LeftToRight, Class::RightToLeft]
        .iter()
        .filter_map(|&class| data.test.iter().find(|c| c.class == class))
        .collect();
    segment_grid(&shown, &variants, train_cfg.segments, 3)?.write_png(&out.join("samples.png"))?;
    println!("{table}");
    println!(
        "wrote {}/results.md, results.csv, results.png, samples.png ({elapsed:.0}s in all)",
        out.display()
    );
    Ok(())
}

/// Trains every (variant, seed) of `plan`, `jobs` at a time; results in `plan` order.
fn train_all(
    videos: &VideoSet,
    plan: &[(Variant, u64)],
    cfg: &TrainConfig,
    jobs: usize,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Vec<RunResult>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let slots: Mutex<Vec<Option<Result<RunResult>>>> =
        Mutex::new((0..plan.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(plan.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= plan.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let (variant, seed) = plan[i];
                    let result = run(videos, variant, seed, cfg, &mut |line| say(line));
                    match &result {
                        Ok(r) => say(&format!(
                            "[{}/{}] {variant} seed {seed}: top-1 {:.1}% (train {:.1}%), reversal errors {:.1}%, {:.0}s",
                            i + 1,
                            plan.len(),
                            r.top1(),
                            r.train_top1,
                            r.reversal_error_rate(),
                            r.seconds
                        )),
                        Err(_) => failed.store(true, Ordering::Relaxed),
                    }
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(result);
                    }
                }
            });
        }
    });
    let slots = slots
        .into_inner()
        .map_err(|_| Error::Config("a training thread panicked".into()))?;
    let mut results = Vec::with_capacity(plan.len());
    for slot in slots {
        match slot {
            Some(Ok(r)) => results.push(r),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    if results.len() != plan.len() {
        return Err(Error::Config("a training run did not finish".into()));
    }
    Ok(results)
}

#[allow(clippy::too_many_arguments)]
fn results_markdown(
    args: &Args,
    data: &Dataset,
    classes: &[Class],
    cfg: &TrainConfig,
    seeds: &[u64],
    table: &str,
    seconds: f64,
    jobs: usize,
) -> String {
    let d = &data.config;
    let command: Vec<String> = std::env::args().skip(1).collect();
    let mut s = String::new();
    s.push_str("# Frame Mix-up vs TSN on order-sensitive synthetic videos\n\n");
    s.push_str(&format!(
        "Command: `cargo run --release -p framemix-examples --bin trainer --{}{}`\n\n",
        if command.is_empty() { "" } else { " " },
        command.join(" ")
    ));
    s.push_str(&format!(
        "Dataset: seed {}, {} classes ({}), {} train / {} test clips ({} / {} per class), \
         {}x{} grayscale, {}..={} frames per clip. Training: {} segments, {} epochs, batch {}, \
         AdamW lr {} (cosine), weight decay {}, seeds {:?}; {} runs at a time. \
         Wall time {:.0} s{}.\n\n",
        d.seed,
        classes.len(),
        classes
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", "),
        data.train.len(),
        data.test.len(),
        d.train_per_class,
        d.test_per_class,
        d.size,
        d.size,
        d.min_frames,
        d.max_frames,
        cfg.segments,
        cfg.epochs,
        cfg.batch,
        cfg.lr,
        cfg.weight_decay,
        seeds,
        jobs,
        seconds,
        if args.smoke {
            " (smoke run: not a measurement)"
        } else {
            ""
        }
    ));
    s.push_str(&format!(
        "Every clip was written as an mp4 file (H.264, lossless) with an mmaction2 video list, \
         and each batch was decoded and mixed from those files by mixdata's Loader ({} worker \
         thread{} per run).\n\n",
        cfg.workers,
        if cfg.workers == 1 { "" } else { "s" }
    ));
    s.push_str(&format!(
        "CPU: {}. candle picks its matrix kernels by CPU, so the numbers repeat bit for bit \
         on the same CPU, and may differ slightly on another.\n\n",
        cpu_description()
    ));
    s.push_str(table);
    s.push_str(&format!(
        "\nGroups are top-1 over the test clips of those classes (the network always has 8 \
         outputs; a dash: no such clips). \"Reversal errors\" is the share of the \
         order-sensitive test clips predicted as their time-reversed partner. Chance top-1 is \
         {:.1} %. \"train top-1\" is measured on as many training clips as there are test \
         clips, without augmentation.\n",
        100.0 / classes.len() as f64
    ));
    s
}

/// The CPU's model name and its AVX flags, from /proc/cpuinfo ("unknown" elsewhere).
fn cpu_description() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name").unwrap_or_else(|| "unknown".into());
    let avx: Vec<String> = field("flags")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|f| f.starts_with("avx"))
        .map(str::to_string)
        .collect();
    if avx.is_empty() {
        format!("{model} (no AVX flags)")
    } else {
        format!("{model} (flags: {})", avx.join(" "))
    }
}
