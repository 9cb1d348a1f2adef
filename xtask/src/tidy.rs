//! Checks on the repository's text that the compiler cannot make (as rust-analyzer's
//! xtask/src/tidy.rs): every mention of the tch and torch versions agrees with the pins,
//! and every document a file points at exists. Run by `cargo xtask test`, as unit tests.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::libtorch::TORCH_VERSION;
    use crate::workspace_root;

    /// A text file of the workspace, with its path as shown (relative to the root).
    struct TextFile {
        path: PathBuf,
        shown: String,
        text: String,
    }

    /// The text files a reader or a build reads: sources, manifests, docs, scripts (but this
    /// one, whose examples would trip its own checks).
    fn text_files() -> Vec<TextFile> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    if !matches!(name.as_str(), "target" | ".git" | "fixtures" | "runs") {
                        walk(&path, out);
                    }
                } else if ["rs", "toml", "md", "py", "sh", "yml"]
                    .iter()
                    .any(|ext| name.ends_with(&format!(".{ext}")))
                    || name == "run"
                {
                    out.push(path);
                }
            }
        }
        let root = workspace_root();
        let mut files = Vec::new();
        walk(&root, &mut files);
        files.sort();
        files
            .into_iter()
            .filter_map(|path| {
                let shown = path.strip_prefix(&root).ok()?.display().to_string();
                let text = std::fs::read_to_string(&path).ok()?;
                (shown != "xtask/src/tidy.rs").then_some(TextFile { path, shown, text })
            })
            .collect()
    }

    /// The version number right after `at` in `text` (`0.24.0`, `2.11`), if one starts there.
    fn version_at(text: &str, at: usize) -> Option<&str> {
        let rest = &text[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let version = rest[..end].trim_end_matches('.');
        (version.contains('.') && version.starts_with(|c: char| c.is_ascii_digit()))
            .then_some(version)
    }

    /// Every `(file:line, version)` where `name` (not inside a longer word, unless the
    /// longer word is one of `prefixes`) is followed by one of `joins` and a version.
    fn mentions(name: &str, prefixes: &[&str], joins: &[&str]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for TextFile { shown, text, .. } in text_files() {
            for (number, line) in text.lines().enumerate() {
                let lower = line.to_ascii_lowercase();
                for (at, _) in lower.match_indices(name) {
                    let before = &lower[..at];
                    let standalone = !before.ends_with(|c: char| c.is_ascii_alphanumeric())
                        || prefixes.iter().any(|p| {
                            before.ends_with(p)
                                && !before[..before.len() - p.len()]
                                    .ends_with(|c: char| c.is_ascii_alphanumeric())
                        });
                    if !standalone {
                        continue;
                    }
                    let after = at + name.len();
                    for join in joins {
                        if lower[after..].starts_with(join) {
                            if let Some(v) = version_at(line, after + join.len()) {
                                found.push((format!("{shown}:{}", number + 1), v.to_string()));
                            }
                        }
                    }
                }
            }
        }
        found
    }

    /// The tch pin from the workspace Cargo.toml (`tch = "=X"`).
    fn tch_pin() -> String {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        let line = manifest
            .lines()
            .find(|l| l.trim_start().starts_with("tch = \"="))
            .expect("the workspace pins tch");
        line.split('"')
            .nth(1)
            .unwrap()
            .trim_start_matches('=')
            .to_string()
    }

    /// A mention agrees with a pin when one is a prefix of the other at a component
    /// boundary (`2.11` and `2.11.0+cu130` agree with `2.11.0`).
    fn agrees(mention: &str, pin: &str) -> bool {
        let (short, long) = if mention.len() <= pin.len() {
            (mention, pin)
        } else {
            (pin, mention)
        };
        long.starts_with(short)
            && long[short.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_digit())
    }

    /// The mentions of `name`'s version (see [`mentions`]) that disagree with `pin`.
    fn disagreeing(name: &str, prefixes: &[&str], joins: &[&str], pin: &str) -> Vec<String> {
        let found = mentions(name, prefixes, joins);
        assert!(
            found.len() >= 3,
            "the scan finds the {name} pins themselves: {found:?}"
        );
        found
            .into_iter()
            .filter(|(_, version)| !agrees(version, pin))
            .map(|(place, version)| format!("{place}: {name} {version}, pinned {pin}"))
            .collect()
    }

    #[test]
    fn every_mention_of_the_tch_and_torch_versions_agrees_with_the_pins() {
        let pinned = "_version: &str = \"";
        let mut wrong = disagreeing("tch", &[], &[" ", " = \"=", pinned], &tch_pin());
        wrong.extend(disagreeing(
            "torch",
            &["lib", "py"],
            &[" ", "==", "-", pinned],
            TORCH_VERSION,
        ));
        assert!(
            wrong.is_empty(),
            "version mentions that disagree with the pins (bump them together):\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn the_version_scan_would_catch_a_stale_mention() {
        assert_eq!(version_at("tch 0.23.1, torch", 4), Some("0.23.1"));
        assert_eq!(version_at("torch venv", 6), None);
        assert!(agrees("2.11.0+cu130", "2.11.0") && agrees("2.11", "2.11.0"));
        assert!(!agrees("2.10.0", "2.11.0") && !agrees("2.1", "2.11.0"));
    }

    /// `docs/x.md` anywhere, and `[text](path)` in Markdown: the documents pointed at.
    fn document_links(text: &str, markdown: bool) -> Vec<String> {
        let mut links = Vec::new();
        for (at, _) in text.match_indices("](").filter(|_| markdown) {
            let rest = &text[at + 2..];
            if let Some(end) = rest.find(')') {
                links.push(rest[..end].to_string());
            }
        }
        for (at, _) in text.match_indices("docs/") {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/._-".contains(c)))
                .unwrap_or(rest.len());
            let link = rest[..end].trim_end_matches('.');
            if link.ends_with(".md") {
                links.push(format!("/{link}"));
            }
        }
        links
    }

    #[test]
    fn every_document_pointed_at_exists_and_none_lies_outside_the_repository() {
        // The steering folder beside the checkout, which a clone does not have.
        const OUTSIDE: &str = concat!("..", "/shared");
        let root = workspace_root();
        let mut broken = Vec::new();
        for TextFile {
            path: file,
            shown,
            text,
        } in text_files()
        {
            if text.contains(OUTSIDE) {
                broken.push(format!(
                    "{shown}: points at {OUTSIDE}, which a clone does not have"
                ));
            }
            for link in document_links(&text, shown.ends_with(".md")) {
                let target = link.split('#').next().unwrap_or("");
                if target.is_empty()
                    || target.contains("://")
                    || target.starts_with("mailto:")
                    || target.contains(' ')
                    || target.contains('{')
                {
                    continue;
                }
                let path = match target.strip_prefix('/') {
                    Some(from_root) => root.join(from_root),
                    None => file.parent().unwrap().join(target),
                };
                if !path.exists() {
                    broken.push(format!("{shown}: {link} does not exist"));
                }
            }
        }
        assert!(
            broken.is_empty(),
            "broken document links:\n{}",
            broken.join("\n")
        );
    }

    #[test]
    fn the_link_scan_finds_both_forms() {
        let text = "see [the notes](notes.md#a) and docs/design.md section 3.";
        let links = document_links(text, true);
        assert_eq!(links, ["notes.md#a", "/docs/design.md"]);
    }
}
