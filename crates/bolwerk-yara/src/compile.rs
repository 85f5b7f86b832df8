//! Compiling rule files with yara-x, one source (and one namespace) at a
//! time, so that a fault costs only its own rule: yara-x drops the rules
//! that fail and keeps the rest (as `yr --ignore-invalid-rules` does), and
//! each error it records is turned into `file:line: message` here.

use yara_x::errors::CompileError;
use yara_x::{Compiler, Rules};

use crate::error::LoadError;
use crate::externals::EXTERNALS;
use crate::sources::RuleSource;

/// Rules compiled from a set of sources, and what did not compile.
pub struct Compiled {
    /// The rules.
    pub rules: Rules,
    /// Every compile error, with its file and line.
    pub errors: Vec<LoadError>,
    /// Warnings yara-x gave (slow patterns and the like).
    pub warnings: usize,
}

/// Compile `sources` into one rule set, each into its own namespace.
pub fn compile(sources: &[RuleSource]) -> Compiled {
    let mut compiler = Compiler::new();
    for name in EXTERNALS {
        compiler
            .define_global(name, "")
            .expect("external variable names are valid identifiers");
    }
    let mut errors = Vec::new();
    for src in sources {
        compiler.new_namespace(&src.namespace);
        let code = yara_x::SourceCode::from(src.text.as_slice())
            .with_origin(src.path.display().to_string());
        let before = compiler.errors().len();
        // The error returned is also among `compiler.errors()`.
        let _ = compiler.add_source(code);
        errors.extend(compiler.errors()[before..].iter().map(|e| describe(src, e)));
    }
    let warnings = compiler.warnings().len();
    Compiled {
        rules: compiler.build(),
        errors,
        warnings,
    }
}

/// The error as one line, with the line of its first label.
fn describe(src: &RuleSource, e: &CompileError) -> LoadError {
    let line = e
        .labels()
        .next()
        .map(|l| line_of(&src.text, l.span().0.start as usize));
    LoadError {
        path: src.path.clone(),
        line,
        message: format!("error[{}]: {}", e.code(), e.title()),
    }
}

/// The line (from 1) that holds byte `offset` of `text`.
fn line_of(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text[..end].iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn source(name: &str, text: &str) -> RuleSource {
        RuleSource {
            path: PathBuf::from(format!("/rules/{name}")),
            namespace: name.to_string(),
            text: text.as_bytes().to_vec(),
            mtime_ns: 0,
            sha256: [0; 32],
        }
    }

    #[test]
    fn a_bad_file_is_reported_with_its_line_and_the_others_compile() {
        let good = source(
            "good.yar",
            "rule good { strings: $a = \"abc\" condition: $a }",
        );
        let bad = source(
            "bad.yar",
            "rule fine { condition: true }\n\nrule broken {\n  condition: no_such_thing\n}\n",
        );
        let utf = RuleSource {
            text: b"rule x { strings: $a = \"\xff\xfe\" condition: $a }".to_vec(),
            ..source("latin1.yar", "")
        };
        let c = compile(&[good, bad, utf]);
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert_eq!(c.errors[0].path, PathBuf::from("/rules/bad.yar"));
        assert_eq!(c.errors[0].line, Some(4));
        assert!(
            c.errors[0].message.contains("no_such_thing")
                || c.errors[0].message.contains("unknown")
        );
        assert_eq!(c.errors[1].line, Some(1));
        let mut scanner = yara_x::Scanner::new(&c.rules);
        let results = scanner.scan(b"xxabcxx").unwrap();
        let hits: Vec<String> = results
            .matching_rules()
            .map(|r| format!("{}:{}", r.namespace(), r.identifier()))
            .collect();
        assert!(hits.contains(&"good.yar:good".to_string()), "{hits:?}");
    }

    #[test]
    fn the_external_variables_are_defined() {
        let c = compile(&[source(
            "ext.yar",
            "rule e { condition: filename == \"\" and filepath == \"\" and extension == \"\" \
             and filetype == \"\" and owner == \"\" }",
        )]);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 99), 3);
    }
}
