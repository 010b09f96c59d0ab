//! Property tests of the rules that read outside input: `module.toml` text of any shape
//! parses or is refused (never a panic), a well-formed one says what it was given, and any
//! set of manifests resolves into a graph or an error. `fuzz/` (target manifest) runs the
//! same on a coverage-guided scale; these run in `cargo test`.

use std::path::Path;

use proptest::prelude::*;

use crate::fixture;
use crate::manifest::Manifest;

fn id() -> impl Strategy<Value = String> {
    ("(core|systems|plugins|apps)", "[a-z][a-z0-9-]{0,8}").prop_map(|(layer, name)| format!("{layer}/{name}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_text_parses_or_is_refused(text in "(?s).{0,400}") {
        let _ = Manifest::parse(&text, Path::new("m/module.toml"));
    }

    #[test]
    fn a_well_formed_manifest_says_what_it_was_given(
        id in id(),
        (major, minor, patch) in (0u64..100, 0u64..100, 0u64..100),
        description in "[ -~&&[^\"\\\\]]{0,40}",
    ) {
        let layer = id.split('/').next().unwrap_or_default().to_owned();
        let text = format!(
            "id = \"{id}\"\nversion = \"{major}.{minor}.{patch}\"\nlayer = \"{layer}\"\ndescription = \"{description}\"\n"
        );
        let manifest = Manifest::parse(&text, Path::new("m/module.toml")).expect("well formed");
        prop_assert_eq!(&manifest.id, &id);
        prop_assert_eq!(manifest.version.to_string(), format!("{major}.{minor}.{patch}"));
    }

    #[test]
    fn any_set_of_modules_resolves_or_is_refused(
        modules in proptest::collection::vec((id(), proptest::collection::vec((id(), "[~^=]?[0-9](\\.[0-9])?"), 0..4)), 1..8),
    ) {
        let mut text = String::new();
        for (id, dependencies) in &modules {
            text.push_str(&format!("//- {id}\n[dependencies]\n"));
            for (dependency, requirement) in dependencies {
                text.push_str(&format!("\"{dependency}\" = \"{requirement}\"\n"));
            }
        }
        if let Ok(graph) = fixture::graph(&text) {
            let first = modules[0].0.clone();
            let reloaded = graph.reload_set(std::slice::from_ref(&first));
            prop_assert!(reloaded.is_empty() || reloaded.contains(&first));
            let _ = graph.packages_for(&[first]);
        }
    }
}
