//! The `nianbao` command line: parse flags, call the library, set the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use url::Url;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use nianbao::config::Config;
use nianbao::crawl;
use nianbao::export::{self, ExportOptions, Filter, OutputFormat};
use nianbao::extract::Report;
use nianbao::fetch::Fetcher;
use nianbao::frontier;
use nianbao::pipeline::{self, Options, Store};
use nianbao::summary;
use nianbao::summary::counted;

/// Print to stdout; a closed stdout (`| head -1`) silences the rest of the
/// output instead of ending the command with a panic.
macro_rules! out {
    ($($arg:tt)*) => { emit(&format!($($arg)*)) };
}
macro_rules! outln {
    () => { emit("\n") };
    ($($arg:tt)*) => { emit(&format!("{}\n", format!($($arg)*))) };
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn emit(text: &str) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Exit code: everything worked.
const OK: u8 = 0;
/// Exit code: the work ran but something failed (HTTP error, no tables, …).
const FAILED: u8 = 1;
/// Exit code: unusable input (config, URL, file).
const UNUSABLE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "nianbao",
    version,
    about = "Archive Chinese government information-disclosure annual reports (政府信息公开工作年度报告)"
)]
struct Cli {
    /// The run configuration.
    #[arg(long, global = true, default_value = "config/nianbao.toml")]
    config: PathBuf,
    /// Log lines as text (coloured only on a terminal, never with NO_COLOR
    /// set) or as one JSON object per line, for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Discover and archive the reports of every configured source (the
    /// scheduled run; resumes an interrupted one).
    Crawl(CrawlArgs),
    /// Archive one report page and show its tables.
    Fetch {
        /// The report's address.
        #[arg(required_unless_present = "title", conflicts_with = "title")]
        url: Option<String>,
        /// Instead of a URL: (part of) the title of a report earlier crawls found.
        #[arg(long)]
        title: Option<String>,
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Extract the tables of local files (HTML or text), with no network and no archive.
    Extract {
        files: Vec<PathBuf>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Export the archive's figures for analysis: cells, reports, checks,
    /// wide tables, codebook and manifest (see SCHEMA.md).
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Directory to write into (created if missing; its tables are replaced).
        #[arg(long, default_value = "export")]
        out: PathBuf,
        /// Only reports of this year.
        #[arg(long)]
        year: Option<i32>,
        /// Only reports whose agency (or title) contains this text.
        #[arg(long)]
        agency: Option<String>,
        /// Only reports whose source's region code starts with this (e.g. 44, 440307).
        #[arg(long)]
        region: Option<String>,
        /// CSV: start each file with a byte-order mark so that Excel shows the Chinese.
        #[arg(long)]
        excel: bool,
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Re-run decode + extract over every snapshot in the archive (no network),
    /// replacing the derived rows and reporting what changed.
    Reextract {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Import web archives others made (WARC, ARC, WACZ files, or directories
    /// of them): keep each file byte for byte and derive the reports in it.
    Import {
        /// Files, or directories searched for *.warc[.gz], *.arc[.gz], *.wacz.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Name stored as the source of every imported capture.
        #[arg(long)]
        source: Option<String>,
    },
    /// What the archive holds and how the last runs went: runs, per source
    /// reports, blocked pages, failures by kind, last crawled; what is due;
    /// the archive's size. Exit code 1 when the last run failed or did not finish.
    Status {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (e.g. `nianbao completions bash >
    /// /etc/bash_completion.d/nianbao`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `nianbao man > nianbao.1 && man ./nianbao.1`;
    /// with --out, write it and one page per command (`nianbao-crawl.1`, …) there.
    Man {
        /// Directory for every page (e.g. /usr/local/share/man/man1).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Browse the archive in a web browser: every figure beside the archived
    /// page it came from (read-only; may run while a crawl writes).
    Serve {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Address to listen on; this machine only unless told otherwise.
        #[arg(long, default_value = nianbao::serve::DEFAULT_BIND)]
        bind: String,
    },
    /// Check every WARC record's digests, every damaged or torn region, and
    /// every index row against the record it points at (reads only).
    Verify {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Make a new SQLite index from the WARC files alone (the old database is
    /// moved aside): captures, reports, cells, checks.
    Rebuild {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Find the 年报 columns of government portals and print them as
    /// `[[sources]]` tables to paste into the config.
    Sources {
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// Write the CDXJ index beside every WARC file (`<file>.warc.gz.cdxj`), for pywb and other replay tools.
    Index {
        /// Archive directory (default: the config's `archive`, else ./archive).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// Rewrite every index, even those newer than their WARC file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum SourcesCommand {
    /// Walk from each portal's home page through 政府信息公开 / 政务公开 to its
    /// 年报 column and those of the departments it hosts (same host only,
    /// robots.txt and the per-host interval obeyed).
    Find {
        /// Home pages of government portals.
        #[arg(required = true)]
        urls: Vec<String>,
        /// Requests per portal at most (robots.txt not counted).
        #[arg(long, default_value_t = 200)]
        max_pages: u32,
        /// 行政区划代码 for every source found, when the pages give none.
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Parquet,
    Jsonl,
    /// A WACZ package of the WARC records (for ReplayWeb.page, pywb).
    Wacz,
}

/// Flags of `crawl`; each overrides the config file.
#[derive(clap::Args)]
struct CrawlArgs {
    /// Archive directory.
    #[arg(long)]
    archive: Option<PathBuf>,
    /// Pages fetched per source at most (crawl.max_pages_per_source).
    #[arg(long)]
    max_pages: Option<u32>,
    /// Link depth from the start pages (crawl.max_depth).
    #[arg(long)]
    max_depth: Option<u32>,
    /// Minimum gap between two requests to one host, in ms (crawl.per_host_interval_ms).
    #[arg(long)]
    interval_ms: Option<u64>,
    /// Requests in flight across all hosts (crawl.max_concurrency).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Crawl only this source (by name); repeat for several.
    #[arg(long = "source")]
    sources: Vec<String>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// Render listing pages that give no report links in headless Chromium
    /// (as `render = true` does for one source).
    #[arg(long)]
    render: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A crawl run by a timer or cron logs what it does; on a terminal the
    // progress bar says it and only warnings are logged.
    let unattended = matches!(cli.command, Command::Crawl(_)) && !std::io::stderr().is_terminal();
    init_logging(if unattended { "info" } else { "warn" }, cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(UNUSABLE)
        }
    }
}

fn init_logging(default: &str, format: LogFormat) {
    // The HTML parser's notes on malformed markup say nothing to a user.
    let filter = tracing_subscriber::EnvFilter::try_from_env("NIANBAO_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},html5ever=error,selectors=error"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(nianbao::progress::LogWriter);
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => builder.with_ansi(colour()).try_init(),
    };
}

/// Colour codes only for a person at a terminal: not into files or pipes
/// (cron, systemd), and never when `NO_COLOR` is set (no-color.org).
fn colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Crawl(args) => {
            if !cli.config.exists() {
                anyhow::bail!(
                    "no config at {path}: start one from the example (`cp config/example.toml {path}`, then name your [[sources]]), or pass --config FILE",
                    path = cli.config.display()
                );
            }
            crawl(Config::load(&cli.config)?, args)
        }
        Command::Fetch {
            url,
            title,
            archive,
        } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or_else(|| config.archive.clone());
            let url = match (url, title) {
                (Some(url), _) => url,
                (None, Some(title)) => match url_for_title(&dir, &title)? {
                    Some(url) => url,
                    None => return Ok(UNUSABLE),
                },
                (None, None) => return Ok(UNUSABLE),
            };
            fetch(&config, &url, dir)
        }
        Command::Extract { files, json } => extract(&files, json),
        Command::Export {
            format,
            out,
            year,
            agency,
            region,
            excel,
            archive,
        } => {
            let config = load_config_if_present(&cli.config)?;
            let format = match format {
                ExportFormat::Csv => OutputFormat::Csv,
                ExportFormat::Parquet => OutputFormat::Parquet,
                ExportFormat::Jsonl => OutputFormat::Jsonl,
                ExportFormat::Wacz => OutputFormat::Wacz,
            };
            let opts = ExportOptions {
                archive: archive.unwrap_or_else(|| config.archive.clone()),
                out,
                format,
                filter: Filter {
                    year,
                    agency,
                    region,
                },
                excel,
                regions: config
                    .sources
                    .iter()
                    .filter_map(|s| Some((s.name.clone(), s.region.clone()?)))
                    .collect(),
                progress: true,
            };
            run_export(&opts)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "nianbao", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(OK)
        }
        Command::Man { out } => {
            let command = <Cli as clap::CommandFactory>::command();
            if let Some(dir) = out {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                clap_mangen::generate_to(command, &dir)
                    .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
                return Ok(OK);
            }
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            out!("{}", String::from_utf8_lossy(&page));
            Ok(OK)
        }
        Command::Status { archive, json } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or(config.archive);
            let status = nianbao::status::read(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", status.render());
            }
            Ok(if status.last_run_ok() { OK } else { FAILED })
        }
        Command::Sources {
            command:
                SourcesCommand::Find {
                    urls,
                    max_pages,
                    region,
                },
        } => {
            let config = load_config_if_present(&cli.config)?;
            find_sources(&config, &urls, max_pages, region)
        }
        Command::Index { archive, force } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or_else(|| config.archive.clone());
            let done = export::index(&dir, force)?;
            outln!(
                "CDXJ: {} written ({}), {} already up to date",
                counted(done.written.len(), "index file", "index files"),
                counted(done.lines, "line", "lines"),
                done.up_to_date.len()
            );
            Ok(OK)
        }
        Command::Import {
            files,
            archive,
            source,
        } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or(config.archive);
            import(&dir, &files, source)
        }
        Command::Serve { archive, bind } => {
            let config = load_config_if_present(&cli.config)?;
            serve(config, archive, &bind)
        }
        Command::Verify { archive } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or(config.archive);
            let db = nianbao::archive::Archive::open(&dir)
                .with_context(|| format!("opening the archive in {}", dir.display()))?;
            let found = nianbao::integrity::verify(&db)?;
            out!("{}", found.render());
            Ok(if found.problems.is_empty() {
                OK
            } else {
                FAILED
            })
        }
        Command::Rebuild { archive } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or(config.archive);
            let _lock = crawl::RunLock::acquire(&dir)?;
            let done = nianbao::rebuild::rebuild(
                &dir,
                pipeline::warcinfo(&config.fetch.user_agent, "rebuild"),
            )?;
            for path in &done.moved_aside {
                outln!("moved aside: {}", path.display());
            }
            outln!(
                "rebuilt {} from the WARC files: {}, {}, {} cells, {} checks",
                dir.join(nianbao::archive::DB_FILE).display(),
                counted(done.captures, "capture", "captures"),
                counted(done.reports, "report", "reports"),
                done.cells,
                done.checks
            );
            Ok(OK)
        }
        Command::Reextract { archive } => {
            let config = load_config_if_present(&cli.config)?;
            let dir = archive.unwrap_or(config.archive);
            let mut db = nianbao::archive::Archive::open(&dir)
                .with_context(|| format!("opening the archive in {}", dir.display()))?;
            let changes = nianbao::reextract::reextract(&mut db)?;
            out!("{changes}");
            Ok(if changes.unreadable.is_empty() {
                OK
            } else {
                FAILED
            })
        }
    }
}

fn find_sources(
    config: &Config,
    urls: &[String],
    max_pages: u32,
    region: Option<String>,
) -> anyhow::Result<u8> {
    use nianbao::sources_find;
    if let Some(code) = region.as_deref() {
        if !nianbao::discover::portal::is_region_code(code) {
            eprintln!("error: --region {code:?} is not a 6-digit 行政区划代码");
            return Ok(UNUSABLE);
        }
    }
    let opts = sources_find::FindOptions { max_pages, region };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let finds = match runtime.block_on(sources_find::find(config, urls, &opts)) {
        Ok(f) => f,
        Err(e @ sources_find::FindError::Url(_)) => {
            eprintln!("error: {e}");
            return Ok(UNUSABLE);
        }
        Err(e) => return Err(e.into()),
    };
    out!("{}", sources_find::to_toml(&finds));
    let found = finds.iter().filter(|f| !f.sources.is_empty()).count();
    if found < finds.len() {
        eprintln!(
            "{} of {} portals gave no 年报 column",
            finds.len() - found,
            finds.len()
        );
        return Ok(FAILED);
    }
    Ok(OK)
}

fn import(dir: &std::path::Path, files: &[PathBuf], source: Option<String>) -> anyhow::Result<u8> {
    use nianbao::import;
    let inputs = import::input_files(files)?;
    if inputs.is_empty() {
        eprintln!("no WARC, ARC or WACZ file found in the paths given");
        return Ok(UNUSABLE);
    }
    let mut db = nianbao::archive::Archive::open(dir)
        .with_context(|| format!("opening the archive in {}", dir.display()))?;
    let outcomes = import::import(&mut db, &inputs, &import::ImportOptions { source })?;
    let mut failed = false;
    for o in &outcomes {
        print!("{o}");
        failed |= !o.bad.is_empty() || o.skipped.as_ref().is_some_and(|s| s.starts_with("not"));
    }
    let captures: u64 = outcomes.iter().map(|o| o.captures).sum();
    let reports: u64 = outcomes.iter().map(|o| o.reports).sum();
    println!(
        "imported {}: {}, {}",
        counted(outcomes.len(), "file", "files"),
        counted(captures, "capture", "captures"),
        counted(reports, "report", "reports")
    );
    Ok(if failed { FAILED } else { OK })
}

fn serve(config: Config, archive: Option<PathBuf>, bind: &str) -> anyhow::Result<u8> {
    let dir = archive.unwrap_or(config.archive);
    let sources = config
        .sources
        .iter()
        .map(|s| nianbao::serve::SourceInfo {
            name: s.name.clone(),
            region: s.region.clone(),
        })
        .collect();
    let site = nianbao::serve::Site::new(&dir, sources);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(nianbao::serve::serve(site, bind))?;
    Ok(OK)
}

fn run_export(opts: &ExportOptions) -> anyhow::Result<u8> {
    if opts.excel && opts.format != OutputFormat::Csv {
        eprintln!("note: --excel only changes CSV files; ignored for this format");
    }
    let manifest = export::export(opts)?;
    for f in &manifest.files {
        outln!("{:>10} rows  {}", f.rows, opts.out.join(&f.name).display());
    }
    let reports = match opts.format {
        OutputFormat::Wacz => manifest.rows("wacz"),
        _ => manifest.rows("reports"),
    };
    outln!(
        "exported {} of {} ({} cells) in {:.1}s; manifest: {}",
        reports,
        counted(manifest.archive.reports, "report", "reports"),
        manifest.rows("cells"),
        manifest.elapsed_seconds,
        opts.out.join("manifest.json").display()
    );
    if reports == 0 {
        eprintln!("no report matches: check --year, --agency, --region and --archive");
        return Ok(FAILED);
    }
    Ok(OK)
}

/// The config file if it exists; built-in defaults otherwise (a one-off fetch
/// needs no config).
fn load_config_if_present(path: &std::path::Path) -> anyhow::Result<Config> {
    if path.exists() {
        Ok(Config::load(path)?)
    } else {
        Ok(Config::defaults())
    }
}

fn crawl(mut config: Config, args: CrawlArgs) -> anyhow::Result<u8> {
    if let Some(dir) = args.archive {
        config.archive = dir;
    }
    if let Some(n) = args.max_pages {
        config.crawl.max_pages_per_source = n;
    }
    if let Some(n) = args.max_depth {
        config.crawl.max_depth = n;
    }
    if let Some(ms) = args.interval_ms {
        config.crawl.per_host_interval = std::time::Duration::from_millis(ms);
    }
    if let Some(n) = args.concurrency {
        config.crawl.max_concurrency = n.max(1);
    }
    if args.render {
        for s in &mut config.sources {
            s.render = true;
        }
    }
    let opts = crawl::CrawlOptions {
        only_sources: args.sources,
        progress: !args.no_progress,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ran = runtime.block_on(async {
        nianbao::interrupt::install();
        crawl::run(&config, &opts).await
    });
    match ran {
        Ok(summary) => {
            out!("{}", summary.render());
            // Keep the replay indexes beside the WARC files current.
            let indexed = refresh_index(&config.archive);
            if let Some(signal) = nianbao::interrupt::requested() {
                return Ok(nianbao::interrupt::exit_code(signal));
            }
            let mut empty = false;
            for s in summary.sources.iter() {
                if let Some(why) = &s.blocked_by {
                    eprintln!("error: source {}: {why}", s.name);
                }
                if s.read_as_empty() && s.blocked_by.is_none() {
                    empty = true;
                    eprintln!("error: source {}: its listing pages gave no report link (a list built by scripts may need `render = true` or --render)", s.name);
                }
            }
            Ok(if summary.has_failures() || !indexed || empty {
                FAILED
            } else {
                OK
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(if e.is_unusable_input() {
                UNUSABLE
            } else {
                FAILED
            })
        }
    }
}

/// The URL of the one report whose discovered title contains `title`.
fn url_for_title(dir: &std::path::Path, title: &str) -> anyhow::Result<Option<String>> {
    let db = nianbao::archive::Archive::open(dir)
        .with_context(|| format!("opening the archive in {}", dir.display()))?;
    let found = frontier::find_by_title(db.conn(), title)?;
    let reports: Vec<_> = found
        .iter()
        .filter(|(_, _, kind)| kind != "listing")
        .collect();
    let candidates = if reports.is_empty() {
        found.iter().collect()
    } else {
        reports
    };
    match candidates.as_slice() {
        [] => {
            eprintln!("error: no link titled like {title:?} was found by earlier crawls of {}; run `nianbao crawl` first or give the URL", dir.display());
            Ok(None)
        }
        [(url, _, _)] => Ok(Some(url.clone())),
        many => {
            eprintln!(
                "error: {} links are titled like {title:?}; give more of the title or the URL:",
                many.len()
            );
            for (url, anchor, kind) in many {
                eprintln!("  {anchor}  [{kind}]  {url}");
            }
            Ok(None)
        }
    }
}

fn fetch(config: &Config, url: &str, dir: PathBuf) -> anyhow::Result<u8> {
    let url = match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        Ok(u) => {
            eprintln!("error: {u}: only http and https URLs can be fetched");
            return Ok(UNUSABLE);
        }
        Err(e) => {
            eprintln!("error: {url:?} is not a URL: {e}");
            return Ok(UNUSABLE);
        }
    };
    if dir.exists() {
        nianbao::archive::check_writable(&dir)?;
    }
    // A crawl may be writing this archive: opening it repairs WARC tails, so
    // it is opened only under the run lock.
    let _lock = crawl::RunLock::acquire(&dir)?;
    let store = Store::open(
        &dir,
        config.crawl.warc_max_file_bytes,
        pipeline::warcinfo(&config.fetch.user_agent, "one-off fetch"),
    )
    .with_context(|| format!("opening the archive in {}", dir.display()))?;
    let fetcher = Fetcher::new(config.fetch.clone())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = Options {
        max_redirects: config.crawl.max_redirects,
        source: None,
        conditional: false,
    };
    let outcome = runtime.block_on(pipeline::archive_url(
        &fetcher,
        &store,
        &url,
        &opts,
        &|_| true,
    ));
    let archived = match outcome {
        Ok(a) => a,
        Err(e) => {
            if let Ok(db) = store.db.lock() {
                let _ = db.insert_failure(url.as_str(), e.kind(), &e.to_string(), None);
            }
            drop(store);
            refresh_index(&dir);
            eprintln!("error: {e}");
            return Ok(if e.is_fatal() { UNUSABLE } else { FAILED });
        }
    };
    drop(store);
    let indexed = refresh_index(&dir);
    outln!(
        "archived {} → HTTP {} (capture {}, {} in {})",
        archived.final_url,
        archived.status,
        archived.capture_id,
        archived.record_type,
        dir.join("warc").display()
    );
    if let Some(d) = &archived.decoded {
        outln!(
            "decoded as {} (decided by {}{})",
            d.encoding,
            d.decision.as_str(),
            if d.had_errors {
                "; some bytes were invalid"
            } else {
                ""
            }
        );
    }
    print_reports(&archived.reports);
    let failed = !(200..300).contains(&archived.status)
        || archived.reports.iter().all(|r| r.cells.is_empty())
        || !indexed;
    if archived.reports.is_empty() && (200..300).contains(&archived.status) {
        eprintln!("no statistics tables found on this page");
    }
    Ok(if failed { FAILED } else { OK })
}

/// Bring the CDXJ index beside each WARC file up to date with what was
/// just written; false when it could not be written.
fn refresh_index(dir: &std::path::Path) -> bool {
    match nianbao::export::cdxj::index_dir(&dir.join(nianbao::archive::WARC_DIR), false) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("error: writing the CDXJ indexes: {e}");
            false
        }
    }
}

fn print_reports(reports: &[Report]) {
    for report in reports {
        outln!("\n{}", summary::render(report));
    }
}

fn extract(files: &[PathBuf], json: bool) -> anyhow::Result<u8> {
    if files.is_empty() {
        eprintln!("error: name at least one file to extract");
        return Ok(UNUSABLE);
    }
    let mut all = Vec::new();
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return Ok(UNUSABLE);
            }
        };
        let content_type = guess_type(path);
        let name = path.to_string_lossy();
        match pipeline::analyse_document(&name, &bytes, content_type) {
            Some(analysis) => all.extend(analysis.reports),
            None => eprintln!("{}: not a text or HTML file", path.display()),
        }
    }
    if json {
        let doc = serde_json::json!({ "reports": all });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_reports(&all);
    }
    Ok(if all.iter().any(|r| !r.cells.is_empty()) {
        OK
    } else {
        FAILED
    })
}

/// A content type for a local file by its extension; other kinds (PDF, DOCX,
/// spreadsheets) are told by extension and magic bytes downstream.
fn guess_type(path: &std::path::Path) -> Option<&'static str> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" | "shtml" | "xhtml" => Some("text/html"),
        "txt" | "text" | "md" => Some("text/plain"),
        _ => None,
    }
}
