//! `bolwerk pack`: build, co-sign and publish a signature pack (a TUF
//! repository), and keep its transparency log.
//!
//! Each signer runs `pack keygen` on their own machine and hands out only
//! the `.pub` file; `pack init` names the root and targets keys with their
//! thresholds; `pack add`/`remove` stage a new pack; each signer runs
//! `pack sign --key THEIR_KEY`; `pack publish` refuses until every
//! threshold is met. `pack log-init` starts the transparency log and
//! `pack witness` is what a witness runs to cosign its checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bolwerk_update::tlog::note::{VerifierKey, ALG_COSIGNATURE_V1, ALG_ED25519};
use bolwerk_update::tlog::{witness_cosign, LogWriter};
use bolwerk_update::{expires_in_days, KeyPair, PackRepo, PublishOptions, RootSpec, SignStatus};
use clap::{Args, Subcommand};

/// The pack subcommands.
#[derive(Subcommand, Debug)]
pub enum PackCommand {
    /// Make an Ed25519 key: KEY (private, 0600) and KEY.pub.
    Keygen {
        /// Where to write the private key.
        key: PathBuf,
    },
    /// Create a repository and stage root version 1 for signing.
    Init {
        /// The repository directory.
        repo: PathBuf,
        #[command(flatten)]
        keys: RootKeys,
    },
    /// Stage the next root version with new keys (needs the old and new thresholds).
    Rotate {
        /// The repository directory.
        repo: PathBuf,
        #[command(flatten)]
        keys: RootKeys,
    },
    /// Add files to the pack (stages new targets; signatures start over).
    Add {
        /// The repository directory.
        repo: PathBuf,
        /// Signature files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Days until the targets metadata expires.
        #[arg(long, default_value_t = 90)]
        expires_days: i64,
    },
    /// Remove files from the pack (stages new targets).
    Remove {
        /// The repository directory.
        repo: PathBuf,
        /// Names of pack files.
        #[arg(required = true)]
        names: Vec<String>,
        /// Days until the targets metadata expires.
        #[arg(long, default_value_t = 90)]
        expires_days: i64,
    },
    /// Add your signature to what is staged.
    Sign {
        /// The repository directory.
        repo: PathBuf,
        /// Your private key.
        #[arg(long)]
        key: PathBuf,
    },
    /// Show what is staged and how many signatures it has.
    Status {
        /// The repository directory.
        repo: PathBuf,
    },
    /// Publish what is staged once every threshold is met.
    Publish(PublishArgs),
    /// Start the repository's transparency log; prints its verifier key.
    LogInit {
        /// The repository directory.
        repo: PathBuf,
        /// The log's name (its origin line), e.g. packs.example.org/log.
        #[arg(long)]
        origin: String,
        /// The log's private key.
        #[arg(long)]
        key: PathBuf,
    },
    /// As a witness: check the log's checkpoint is consistent with the last
    /// one you cosigned, then cosign it.
    Witness {
        /// The repository directory.
        repo: PathBuf,
        /// The log's verifier key (from `pack log-init`).
        #[arg(long)]
        log_vkey: String,
        /// Your witness name.
        #[arg(long)]
        name: String,
        /// Your private key.
        #[arg(long)]
        key: PathBuf,
        /// Your record of the last checkpoint you cosigned.
        #[arg(long)]
        state: PathBuf,
    },
    /// Print the verifier key for a key (for an update policy).
    Vkey {
        /// The private key.
        key: PathBuf,
        /// The name the key signs under.
        #[arg(long)]
        name: String,
        /// A witness cosigning key rather than a log key.
        #[arg(long)]
        witness: bool,
    },
}

/// Keys and thresholds of a root.
#[derive(Args, Debug)]
pub struct RootKeys {
    /// A root key's public file (repeat for each).
    #[arg(long = "root-key", required = true)]
    root: Vec<PathBuf>,
    /// Root signatures needed.
    #[arg(long)]
    root_threshold: u64,
    /// A pack signer's public key file (repeat for each).
    #[arg(long = "signer", required = true)]
    signers: Vec<PathBuf>,
    /// Pack signatures needed.
    #[arg(long)]
    signer_threshold: u64,
    /// The online snapshot key's public file.
    #[arg(long)]
    snapshot_key: PathBuf,
    /// The online timestamp key's public file.
    #[arg(long)]
    timestamp_key: PathBuf,
    /// Days until this root expires.
    #[arg(long, default_value_t = 365)]
    expires_days: i64,
}

/// Options of `pack publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The repository directory.
    repo: PathBuf,
    /// The snapshot private key.
    #[arg(long)]
    snapshot_key: PathBuf,
    /// The timestamp private key.
    #[arg(long)]
    timestamp_key: PathBuf,
    /// The transparency log's private key (when the repository keeps a log).
    #[arg(long)]
    log_key: Option<PathBuf>,
    /// Days until the snapshot expires.
    #[arg(long, default_value_t = 30)]
    snapshot_days: i64,
    /// Days until the timestamp expires (what stops a freeze attack).
    #[arg(long, default_value_t = 7)]
    timestamp_days: i64,
}

/// Run a pack subcommand.
pub fn run(cmd: PackCommand) -> anyhow::Result<u8> {
    match cmd {
        PackCommand::Keygen { key } => keygen(&key),
        PackCommand::Init { repo, keys } => {
            PackRepo::init(&repo, &root_spec(&keys)?)?;
            println!(
                "{}: root v1 staged; root keys sign it with `pack sign`",
                repo.display()
            );
            Ok(0)
        }
        PackCommand::Rotate { repo, keys } => {
            let v = PackRepo::open(&repo)?.rotate(&root_spec(&keys)?)?;
            println!("root v{v} staged: it needs the old root's threshold and its own");
            Ok(0)
        }
        PackCommand::Add {
            repo,
            files,
            expires_days,
        } => {
            let status = PackRepo::open(&repo)?.add(&files, expires_in_days(expires_days))?;
            print_status(&[status]);
            Ok(0)
        }
        PackCommand::Remove {
            repo,
            names,
            expires_days,
        } => {
            let status = PackRepo::open(&repo)?.remove(&names, expires_in_days(expires_days))?;
            print_status(&[status]);
            Ok(0)
        }
        PackCommand::Sign { repo, key } => {
            print_status(&PackRepo::open(&repo)?.sign(&KeyPair::read(&key)?)?);
            Ok(0)
        }
        PackCommand::Status { repo } => {
            print_status(&PackRepo::open(&repo)?.status()?);
            Ok(0)
        }
        PackCommand::Publish(args) => publish(&args),
        PackCommand::LogInit { repo, origin, key } => {
            let vkey = LogWriter::init(&repo.join("log"), &origin, &KeyPair::read(&key)?)?;
            println!("{}", vkey.to_vkey());
            Ok(0)
        }
        PackCommand::Witness {
            repo,
            log_vkey,
            name,
            key,
            state,
        } => witness(&repo, &log_vkey, &name, &key, &state),
        PackCommand::Vkey { key, name, witness } => {
            let alg = if witness {
                ALG_COSIGNATURE_V1
            } else {
                ALG_ED25519
            };
            println!(
                "{}",
                VerifierKey::new(&name, alg, &KeyPair::read(&key)?)?.to_vkey()
            );
            Ok(0)
        }
    }
}

fn keygen(key: &Path) -> anyhow::Result<u8> {
    let pair = KeyPair::generate(key)?;
    println!(
        "{}: key id {} (public key in {})",
        key.display(),
        pair.key_id(),
        bolwerk_update::public_path(key).display()
    );
    Ok(0)
}

fn root_spec(k: &RootKeys) -> anyhow::Result<RootSpec> {
    let read = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|p| bolwerk_update::read_public(p))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(RootSpec {
        root_keys: read(&k.root)?,
        root_threshold: k.root_threshold,
        targets_keys: read(&k.signers)?,
        targets_threshold: k.signer_threshold,
        snapshot_keys: read(std::slice::from_ref(&k.snapshot_key))?,
        timestamp_keys: read(std::slice::from_ref(&k.timestamp_key))?,
        expires: expires_in_days(k.expires_days),
    })
}

fn print_status(statuses: &[SignStatus]) {
    if statuses.is_empty() {
        println!("nothing staged");
    }
    for s in statuses {
        let state = if s.complete() {
            "ready to publish"
        } else {
            "needs signatures"
        };
        println!("{s} ({state})");
    }
}

fn publish(args: &PublishArgs) -> anyhow::Result<u8> {
    let repo = PackRepo::open(&args.repo)?;
    let snapshot = KeyPair::read(&args.snapshot_key)?;
    let timestamp = KeyPair::read(&args.timestamp_key)?;
    let log_key = args.log_key.as_deref().map(KeyPair::read).transpose()?;
    let published = repo.publish(&PublishOptions {
        snapshot_keys: std::slice::from_ref(&snapshot),
        timestamp_keys: std::slice::from_ref(&timestamp),
        snapshot_expires: expires_in_days(args.snapshot_days),
        timestamp_expires: expires_in_days(args.timestamp_days),
        log_key: log_key.as_ref(),
    })?;
    println!(
        "published targets v{} under root v{} (snapshot v{}, timestamp v{})",
        published.targets_version,
        published.root_version,
        published.snapshot_version,
        published.timestamp_version
    );
    Ok(0)
}

fn witness(
    repo: &Path,
    log_vkey: &str,
    name: &str,
    key: &Path,
    state: &Path,
) -> anyhow::Result<u8> {
    let log = VerifierKey::parse(log_vkey)?;
    let pair = KeyPair::read(key)?;
    let me = VerifierKey::new(name, ALG_COSIGNATURE_V1, &pair)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_secs();
    let cp = witness_cosign(&repo.join("log"), &log, &me, &pair, state, now)?;
    println!("cosigned {} at size {}", cp.origin, cp.size);
    Ok(0)
}
