//! A per-thread scanner: reads one object at a time into a reused buffer
//! (or maps it, when large), runs the engine over it, and recurses into the
//! objects inside it (archives, compressed streams, …) under the budget of
//! the scan limits. Each layer is matched before it is opened, so the outer
//! object's own signatures are found first, as ClamAV finds them.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use bolwerk_engine::{
    Detection, Digests, Engine, HashType, Member, ObjectContext, Pages, ScanOptions, Scanned,
    SigKind, CHUNK,
};
use bolwerk_indicators::{Indicators, Key, ObjectName};
use bolwerk_unpack::{
    file_type, html, pe, text, unpack, vba, Budget, Child, FileType, Flow, Limit, Limits,
    UnpackError,
};

use crate::clean_cache::{CacheKey, CleanCache};
use crate::report::{FileReport, Found, Outcome, SkipReason};
use crate::rules::{ObjectRef, ObjectRules};

/// Files at least this large are memory-mapped rather than read.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// ClamAV's target type for text signatures (they match normalised text).
const TEXT_TARGET: u8 = 7;

/// ClamAV's target type for HTML signatures (they match normalised HTML).
const HTML_TARGET: u8 = 3;

/// Settings shared by every scanner of one run.
#[derive(Clone, Debug, Default)]
pub struct ScanSettings {
    /// Size limits.
    pub limits: Limits,
    /// Report every match, not only the first.
    pub all_match: bool,
    /// Report an exceeded limit as `Heuristics.Limits.Exceeded.<Limit>`
    /// (otherwise what lies beyond a limit is passed over silently, as in
    /// ClamAV).
    pub alert_exceeds_max: bool,
    /// Report an archive with encrypted members as
    /// `Heuristics.Encrypted.<Zip|RAR|7Zip>` (clamscan's
    /// `--alert-encrypted-archive`, clamd's `AlertEncryptedArchive`).
    pub alert_encrypted_archive: bool,
    /// Report a document encrypted for a password bolwerk does not know
    /// as `Heuristics.Encrypted.PDF` (`--alert-encrypted-doc`).
    pub alert_encrypted_doc: bool,
    /// Text signatures match the raw bytes only: no normalised copy of
    /// text is made (clamscan's `--normalize=no`).
    pub no_normalize: bool,
    /// HTML is matched raw, as other objects: no normalised copies of it
    /// are made (clamscan's `--scan-html=no`).
    pub no_html: bool,
    /// Spyware and malware indicators matched on every object besides the
    /// engine's signatures.
    pub indicators: Option<Arc<Indicators>>,
    /// Rules run on every object beside the engine (YARA).
    pub rules: Vec<Arc<dyn ObjectRules>>,
    /// Objects found clean by this engine (with these rules and
    /// indicators), not scanned again; `None`: every object is scanned.
    pub clean_cache: Option<Arc<CleanCache>>,
}

/// Bytes read to type a file before deciding whether to read all of it
/// (tar's magic lies at offset 257).
const TYPE_PROBE: usize = 512;

/// Scans objects with one engine; one per thread.
pub struct Scanner {
    engine: Arc<Engine>,
    settings: ScanSettings,
    buf: Vec<u8>,
}

impl Scanner {
    /// A scanner over `engine`.
    pub fn new(engine: Arc<Engine>, settings: ScanSettings) -> Scanner {
        Scanner {
            engine,
            settings,
            buf: Vec::new(),
        }
    }

    /// Scan a file by path.
    pub fn scan_file(&mut self, path: &Path) -> FileReport {
        let mut warnings = Vec::new();
        let (size, outcome) = match self.scan_file_inner(path, &mut warnings) {
            Ok(r) => r,
            Err(e) => (0, io_outcome(&e)),
        };
        FileReport {
            path: path.to_path_buf(),
            size,
            outcome,
            warnings,
        }
    }

    fn scan_file_inner(
        &mut self,
        path: &Path,
        warnings: &mut Vec<String>,
    ) -> std::io::Result<(u64, Outcome)> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok((0, Outcome::Skipped(SkipReason::NotRegular)));
        }
        let size = meta.len();
        if size == 0 || size > self.settings.limits.file_size_cap() {
            if let Some(found) = self.names_only(path) {
                return Ok((size, Outcome::Infected(found)));
            }
        }
        if size == 0 {
            return Ok((0, Outcome::Empty));
        }
        if size > self.settings.limits.file_size_cap() {
            if self.settings.alert_exceeds_max {
                return Ok((size, Outcome::Infected(vec![heuristic(Limit::MaxFileSize)])));
            }
            return Ok((size, Outcome::Skipped(SkipReason::MaxFileSize)));
        }
        if !self.may_match(size, &mut file)? {
            return Ok((size, Outcome::Clean));
        }
        if size >= MMAP_THRESHOLD {
            // SAFETY: the map is read-only and dropped before this returns.
            // A file truncated by another process while mapped can raise
            // SIGBUS; ripgrep accepts the same risk for large files, and the
            // daemon reads instead of mapping.
            if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
                let pages = Pages::of(&map);
                return Ok((size, self.scan_paged(path, &map, pages, warnings)));
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let read = (&mut file)
            .take(self.settings.limits.file_size_cap())
            .read_to_end(&mut buf);
        let outcome = read.map(|_| self.scan_object(path, &buf, warnings));
        self.buf = buf;
        Ok((size, outcome?))
    }

    /// Whether any signature could match this file or an object inside it:
    /// a whole-file hash naming its size (or any size), PE section hashes
    /// when it starts as an executable, anything when it is a container.
    /// When none could, the file is read no further than its first bytes.
    fn may_match(&self, size: u64, file: &mut File) -> std::io::Result<bool> {
        if self.engine.wants_object(size)
            || self.engine.has_bodies()
            || self.settings.indicators.is_some()
            || !self.settings.rules.is_empty()
        {
            return Ok(true);
        }
        let mut probe = [0u8; TYPE_PROBE];
        let n = file.by_ref().take(TYPE_PROBE as u64).read(&mut probe)?;
        file.seek(std::io::SeekFrom::Start(0))?;
        let ft = file_type(&probe[..n]);
        Ok(ft.is_container() || (ft == FileType::MsExe && self.engine.wants_sections()))
    }

    /// Name and path indicators alone, for a file whose bytes are not
    /// scanned (empty, or over the size limit): a file named as an
    /// indicator names it whatever it holds.
    fn names_only(&self, path: &Path) -> Option<Vec<Found>> {
        let ind = self.settings.indicators.as_deref()?;
        let mut found = Vec::new();
        match_indicators(ind, None, path, &[], &mut found);
        (!found.is_empty()).then_some(found)
    }

    /// Scan a stream (standard input) to its end.
    pub fn scan_reader(&mut self, name: &Path, reader: &mut dyn Read) -> FileReport {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let limit = self.settings.limits.file_size_cap();
        let read = reader.take(limit.saturating_add(1)).read_to_end(&mut buf);
        let size = buf.len() as u64;
        let mut warnings = Vec::new();
        let outcome = match read {
            Err(e) => io_outcome(&e),
            Ok(0) => Outcome::Empty,
            Ok(_) if size > limit => Outcome::Skipped(SkipReason::MaxFileSize),
            Ok(_) => self.scan_object(name, &buf, &mut warnings),
        };
        self.buf = buf;
        FileReport {
            path: name.to_path_buf(),
            size,
            outcome,
            warnings,
        }
    }

    /// Scan bytes held in memory, and the objects inside them.
    pub fn scan_bytes(&self, data: &[u8]) -> Outcome {
        self.scan_named(Path::new(""), data)
    }

    /// Scan bytes held in memory that came from the file `name` (which
    /// rules and name and path indicators see).
    pub fn scan_named(&self, name: &Path, data: &[u8]) -> Outcome {
        self.scan_object(name, data, &mut Vec::new())
    }

    /// [`Scanner::scan_named`], adding to `warnings` what the verdict does
    /// not say: that the time or work budget cut matching short.
    pub fn scan_object(&self, name: &Path, data: &[u8], warnings: &mut Vec<String>) -> Outcome {
        self.scan_paged(name, data, Pages::default(), warnings)
    }

    /// [`Scanner::scan_object`] of `data` whose sweeps hand the pages they
    /// passed to `pages` (a mapped file's), so a large file costs a few
    /// chunks of resident memory rather than its size.
    fn scan_paged(
        &self,
        name: &Path,
        data: &[u8],
        pages: Pages<'_>,
        warnings: &mut Vec<String>,
    ) -> Outcome {
        let Some(cache) = self.settings.clean_cache.as_deref() else {
            return self.scan_uncached(name, data, pages, warnings);
        };
        let key = self.cache_key(name, data);
        if cache.contains(&key) {
            return Outcome::Clean;
        }
        let before = warnings.len();
        let outcome = self.scan_uncached(name, data, pages, warnings);
        if outcome == Outcome::Clean && warnings.len() == before {
            cache.insert(key);
        }
        outcome
    }

    /// The clean-result cache's key of an object: its bytes, and its name
    /// when rules or indicators could see the name.
    fn cache_key(&self, name: &Path, data: &[u8]) -> CacheKey {
        let named = self.settings.indicators.is_some() || !self.settings.rules.is_empty();
        CleanCache::key(data, named.then_some(name))
    }

    fn scan_uncached(
        &self,
        name: &Path,
        data: &[u8],
        pages: Pages<'_>,
        warnings: &mut Vec<String>,
    ) -> Outcome {
        let release = |part: &[u8]| pages.release(part);
        let mut budget = Budget::new(&self.settings.limits).with_release(&release);
        let mut found = Vec::new();
        let mut trail = Trail::default();
        let mut digests = Digests::paged(data, pages);
        let _ = self.scan_layer(&mut digests, name, 0, &mut trail, &mut budget, &mut found);
        if found.is_empty() || self.settings.all_match {
            let alerts = budget
                .encrypted()
                .iter()
                .filter_map(|&t| self.encrypted_alert(t));
            found.extend(alerts);
        }
        if self.settings.alert_exceeds_max && (found.is_empty() || self.settings.all_match) {
            found.extend(budget.exceeded().iter().map(|l| heuristic(*l)));
        }
        if budget.exceeded().contains(&Limit::MaxScanTime) {
            warnings.push(
                "matching cut short by MaxScanTime (the time or verification budget); \
                 what was not looked at is not known (--alert-exceeds-max reports \
                 Heuristics.Limits.Exceeded.MaxScanTime)"
                    .to_string(),
            );
        }
        if found.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Infected(found)
        }
    }

    /// Match one object, then the objects inside it, depth first.
    fn scan_layer(
        &self,
        digests: &mut Digests<'_>,
        origin: &Path,
        depth: u32,
        trail: &mut Trail,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) -> Flow {
        let (data, pages) = (digests.data(), digests.pages());
        let (ft, text) = self.type_of(data);
        let mut ctx = self.context(data, ft);
        ctx.containers.clone_from(&trail.types);
        let opts = ScanOptions {
            all_match: self.settings.all_match,
        };
        // HTML is matched through its normalised copies only, as ClamAV
        // does (its raw bytes and hashes are skipped, measured).
        let html_only = ft == FileType::Html && !self.settings.no_html;
        let late_html = self.html_inside_text(data, text);
        let mut detections = if html_only {
            Vec::new()
        } else {
            checked(self.engine.scan_digested(digests, &ctx, &opts), budget)
        };
        pages.release_all();
        if detections.is_empty() || opts.all_match {
            self.scan_normalised(data, text, &ctx, &opts, &mut detections, budget);
        }
        // The `data:` files of the HTML copies, handed on below without a
        // second normalisation.
        let mut html_files = None;
        if (detections.is_empty() || opts.all_match) && (html_only || late_html) {
            html_files = self.scan_html(data, &ctx, &opts, &mut detections, budget);
        }
        if self
            .hand_off(data, ft, &detections, origin, depth, trail, budget, found)
            .is_break()
        {
            return Flow::Break(());
        }
        if !detections.is_empty() {
            // Joined only when something matched: most objects match nothing.
            let object = trail.names.join("//");
            found.extend(detections.iter().map(|d| self.found(d, &object)));
        }
        if let Some(ind) = self.settings.indicators.as_deref() {
            if found.is_empty() || self.settings.all_match {
                match_indicators(ind, Some(&mut *digests), origin, &trail.names, found);
            }
        }
        if found.is_empty() || self.settings.all_match {
            let object = ObjectRef {
                file: origin,
                members: &trail.names,
                file_type: ft,
                data,
            };
            for rules in &self.settings.rules {
                rules.scan_object(&object, budget, found);
            }
            pages.release_all();
        }
        if !found.is_empty() && !self.settings.all_match {
            return Flow::Break(());
        }
        let files = if ft == FileType::Html {
            html_files.take()
        } else {
            None
        };
        if ft.is_container()
            && self
                .descend(data, ft, files, origin, depth, trail, budget, found)
                .is_break()
        {
            return Flow::Break(());
        }
        if ft == FileType::Ole2 && self.scan_vba(data, &ctx, trail, found, budget).is_break() {
            return Flow::Break(());
        }
        if !late_html {
            return Flow::Continue(());
        }
        // What the HTML in the text carries (`data:` URIs), as for HTML.
        self.descend(
            data,
            FileType::Html,
            html_files,
            origin,
            depth,
            trail,
            budget,
            found,
        )
    }

    /// `HandlerType`: a logical signature that matched hands the object to
    /// the reader of another type (ClamAV's behaviour, measured): what that
    /// finds is reported before the signature itself, and instead of it
    /// unless every match is reported. `Break` when the scan of this file
    /// may stop.
    #[allow(clippy::too_many_arguments)]
    fn hand_off(
        &self,
        data: &[u8],
        ft: FileType,
        detections: &[Detection],
        origin: &Path,
        depth: u32,
        trail: &mut Trail,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) -> Flow {
        let mut types: Vec<FileType> = detections
            .iter()
            .filter_map(|d| self.engine.handler(d))
            .filter_map(FileType::from_cl_type)
            .filter(|t| *t != ft && t.is_container())
            .collect();
        types.dedup();
        let before = found.len();
        for t in types {
            if self
                .descend(data, t, None, origin, depth, trail, budget, found)
                .is_break()
            {
                break;
            }
        }
        if found.len() > before && !self.settings.all_match {
            Flow::Break(())
        } else {
            Flow::Continue(())
        }
    }

    /// Read `data` as a container of type `ft` and scan what it holds;
    /// for HTML, `html_files` are its `data:` files when its copies were
    /// made already.
    #[allow(clippy::too_many_arguments)]
    fn descend(
        &self,
        data: &[u8],
        ft: FileType,
        html_files: Option<Vec<Vec<u8>>>,
        origin: &Path,
        depth: u32,
        trail: &mut Trail,
        budget: &mut Budget,
        found: &mut Vec<Found>,
    ) -> Flow {
        if !budget.may_descend(depth) {
            budget.note(Limit::MaxRecursion);
            return Flow::Continue(());
        }
        let mut flow = Flow::Continue(());
        let mut position = 0;
        let mut unpacked = 0;
        let mut visit = |child: Child, budget: &mut Budget| {
            position += 1;
            // What the reader copied out of a mapped file stays resident
            // until handed back: every chunk's worth of members (nothing
            // is handed back when `data` is not the mapping).
            unpacked += child.data.len();
            if unpacked >= CHUNK {
                budget.release(data);
                unpacked = 0;
            }
            trail.names.push(
                child
                    .name
                    .clone()
                    .unwrap_or_else(|| "(unnamed)".to_string()),
            );
            trail.types.push(ft.cl_type());
            if child.meta.encrypted {
                budget.note_encrypted(ft);
            }
            flow = self.scan_member(data, ft, &child, position, trail, found);
            if flow.is_continue() && !child.meta.encrypted {
                let mut digests = Digests::new(&child.data);
                flow = self.scan_layer(&mut digests, origin, depth + 1, trail, budget, found);
            }
            trail.names.pop();
            trail.types.pop();
            flow
        };
        let read = match (ft, html_files) {
            (FileType::Html, Some(files)) => html::visit_data_files(files, budget, &mut visit),
            _ => unpack(data, ft, budget, &mut visit),
        };
        match read {
            Err(UnpackError::Limit(l)) => budget.note(l),
            Err(UnpackError::Encrypted) => budget.note_encrypted(ft),
            _ => {}
        }
        flow
    }

    /// ClamAV's heuristic for encrypted content in a container of type
    /// `ft`, when it is asked for.
    fn encrypted_alert(&self, ft: FileType) -> Option<Found> {
        let (kind, document) = match ft {
            FileType::Zip => ("Zip", false),
            FileType::Rar => ("RAR", false),
            FileType::SevenZip => ("7Zip", false),
            FileType::Pdf => ("PDF", true),
            _ => return None,
        };
        let wanted = if document {
            self.settings.alert_encrypted_doc
        } else {
            self.settings.alert_encrypted_archive
        };
        wanted.then(|| named_heuristic(format!("Heuristics.Encrypted.{kind}")))
    }

    /// The object's type: the databases' file type rules (`.ftm`) first,
    /// then the built-in magic; and, when a text pass may follow, the kind
    /// of text (typed once per object). There is no text pass when a rule
    /// typed the object as something bolwerk has no reader for, or as
    /// binary data.
    fn type_of(&self, data: &[u8]) -> (FileType, Option<text::TextKind>) {
        let builtin = file_type(data);
        let plain = matches!(builtin, FileType::Unknown | FileType::Text);
        let kind = if plain { text::text_kind(data) } else { None };
        if !self.engine.has_file_type_rules() {
            return (builtin, kind);
        }
        let current = match (builtin, kind) {
            (FileType::Unknown, Some(k)) => k.cl_type(),
            (FileType::Unknown, None) => "CL_TYPE_BINARY_DATA",
            (other, _) => other.cl_type(),
        };
        match self.engine.retype(data, current, plain) {
            None => (builtin, kind),
            Some(name) => match FileType::from_cl_type(name) {
                Some(t) => (t, None),
                None if name.starts_with("CL_TYPE_TEXT_") => (FileType::Unknown, kind),
                None => (FileType::Unknown, None),
            },
        }
    }

    /// ClamAV's second pass over text: the text signatures (target type 7)
    /// and the generic ones match the normalised copy of an object typed as
    /// text (`text`, see [`bolwerk_unpack::text`]) of up to `MaxScriptNormalize`
    /// bytes. A signature already found in the raw bytes is not repeated.
    fn scan_normalised(
        &self,
        data: &[u8],
        text: Option<text::TextKind>,
        ctx: &ObjectContext,
        opts: &ScanOptions,
        detections: &mut Vec<Detection>,
        budget: &mut Budget,
    ) {
        if self.settings.no_normalize
            || text.is_none()
            || !self.engine.has_bodies()
            || data.len() as u64 > self.settings.limits.script_normalize_cap()
        {
            return;
        }
        let normalised = text::normalise(data);
        let text_ctx = ObjectContext {
            target: TEXT_TARGET,
            containers: ctx.containers.clone(),
            ..ObjectContext::default()
        };
        for d in checked(
            self.engine.scan_text(data, &normalised, &text_ctx, opts),
            budget,
        ) {
            if !detections.iter().any(|seen| seen.name == d.name) {
                detections.push(d);
            }
        }
    }

    /// ASCII text with an HTML magic past the part typing looks at: ClamAV
    /// matches it as text and through the HTML copies too (not other kinds
    /// of text, measured).
    fn html_inside_text(&self, data: &[u8], text: Option<text::TextKind>) -> bool {
        !self.settings.no_html
            && text == Some(text::TextKind::Ascii)
            && html::magic_at(data).is_some()
    }

    /// ClamAV's HTML pass: the HTML signatures (target type 3) and the
    /// generic ones match the normalised copies of an HTML object of up to
    /// `MaxHTMLNormalize` bytes — the markup without comments, then, for
    /// objects up to `MaxHTMLNoTags`, the text without markup, then the
    /// normalised scripts, which the text signatures (target type 7) match
    /// too (see [`bolwerk_unpack::html`]); hash signatures match the copies
    /// too. A
    /// signature already found is not repeated. Returns the copies'
    /// `data:` files, when they were made.
    fn scan_html(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        opts: &ScanOptions,
        detections: &mut Vec<Detection>,
        budget: &mut Budget,
    ) -> Option<Vec<Vec<u8>>> {
        let limits = &self.settings.limits;
        if data.len() as u64 > limits.html_normalize_cap() {
            return None;
        }
        let copies = html::normalise(data, (data.len() as u64) < limits.html_notags_cap());
        let html_ctx = ObjectContext {
            target: HTML_TARGET,
            containers: ctx.containers.clone(),
            ..ObjectContext::default()
        };
        let text_ctx = ObjectContext {
            target: TEXT_TARGET,
            ..html_ctx.clone()
        };
        // ClamAV's order: the markup, the text, then the scripts as HTML and
        // again as text (one set of digests for both).
        for markup in [&copies.nocomment, &copies.notags] {
            let mut copy = Digests::new(markup);
            self.scan_copy(&mut copy, &html_ctx, opts, detections, budget);
        }
        let mut scripts = Digests::new(&copies.javascript);
        for copy_ctx in [&html_ctx, &text_ctx] {
            self.scan_copy(&mut scripts, copy_ctx, opts, detections, budget);
        }
        Some(copies.data_files)
    }

    /// One normalised copy of an object matched as `ctx` says, unless empty
    /// or a detection already ends the object's scan; a signature already
    /// found is not repeated.
    fn scan_copy(
        &self,
        copy: &mut Digests<'_>,
        ctx: &ObjectContext,
        opts: &ScanOptions,
        detections: &mut Vec<Detection>,
        budget: &mut Budget,
    ) {
        if copy.data().is_empty() || !(detections.is_empty() || opts.all_match) {
            return;
        }
        for d in checked(self.engine.scan_digested(copy, ctx, opts), budget) {
            if !detections.iter().any(|seen| seen.name == d.name) {
                detections.push(d);
            }
        }
    }

    /// ClamAV's VBA pass over an OLE2 document, after its streams: each
    /// macro module's source (see [`bolwerk_unpack::vba`]) is matched by
    /// the OLE2 body and logical signatures (target type 2) and the generic
    /// ones — not by hash signatures (measured) — and what matches is
    /// reported on the document.
    fn scan_vba(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        trail: &Trail,
        found: &mut Vec<Found>,
        budget: &mut Budget,
    ) -> Flow {
        if !self.engine.has_bodies() {
            return Flow::Continue(());
        }
        let opts = ScanOptions {
            all_match: self.settings.all_match,
        };
        let limit = match self.settings.limits.max_file_size {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let mut detections: Vec<Detection> = Vec::new();
        for module in vba::sources(data, limit) {
            let source = &module.source;
            for d in checked(self.engine.scan_text(source, source, ctx, &opts), budget) {
                if !detections.iter().any(|seen| seen.name == d.name) {
                    detections.push(d);
                }
            }
            if !detections.is_empty() && !opts.all_match {
                break;
            }
        }
        if detections.is_empty() {
            return Flow::Continue(());
        }
        let object = trail.names.join("//");
        found.extend(detections.iter().map(|d| self.found(d, &object)));
        if self.settings.all_match {
            Flow::Continue(())
        } else {
            Flow::Break(())
        }
    }

    /// Match what the container (`parent`, of type `ft`) records about a
    /// member against the container metadata signatures; the member's
    /// name is the last in `trail`.
    fn scan_member(
        &self,
        parent: &[u8],
        ft: FileType,
        child: &Child,
        position: u64,
        trail: &Trail,
        found: &mut Vec<Found>,
    ) -> Flow {
        if !self.engine.wants_members() {
            return Flow::Continue(());
        }
        let member = Member {
            container: ft.cl_type(),
            container_size: parent.len() as u64,
            name: child.name.as_deref(),
            packed_size: child.meta.packed_size,
            real_size: if child.meta.encrypted {
                child.meta.stated_size.unwrap_or(0)
            } else {
                child.data.len() as u64
            },
            encrypted: child.meta.encrypted,
            position,
            crc32: child.meta.crc32,
        };
        let opts = ScanOptions {
            all_match: self.settings.all_match,
        };
        let detections = self.engine.scan_member(&member, &opts);
        if !detections.is_empty() {
            let object = trail.names.join("//");
            found.extend(detections.iter().map(|d| self.found(d, &object)));
        }
        if !found.is_empty() && !self.settings.all_match {
            Flow::Break(())
        } else {
            Flow::Continue(())
        }
    }

    /// What the engine needs to know of an object besides its bytes: its
    /// ClamAV target type and, for a PE file, its sections and entry point.
    fn context(&self, data: &[u8], ft: FileType) -> ObjectContext {
        let pe = (ft == FileType::MsExe
            && (self.engine.wants_sections() || self.engine.has_bodies()))
        .then(|| pe::parse(data))
        .flatten();
        let target = match ft {
            FileType::MsExe if pe.is_some() => 1,
            FileType::Ole2 => 2,
            FileType::Html => 3,
            FileType::Mail => 4,
            FileType::Gif
            | FileType::Png
            | FileType::Jpeg
            | FileType::Tiff
            | FileType::Graphics => 5,
            FileType::Elf => 6,
            FileType::MachO => 9,
            FileType::Pdf => 10,
            FileType::Swf => 11,
            FileType::JavaClass => 12,
            _ => 0,
        };
        let Some(pe) = pe else {
            return ObjectContext {
                target,
                ..ObjectContext::default()
            };
        };
        ObjectContext {
            target,
            entry: Some(pe.entry),
            sections: pe
                .sections
                .iter()
                .map(|s| (u64::from(s.raw), u64::from(s.rsz)))
                .collect(),
            version_info: pe.version_info,
            ..ObjectContext::default()
        }
    }

    fn found(&self, d: &Detection, object: &str) -> Found {
        Found {
            name: self.engine.display_name(d.name),
            signature: self.engine.name(d.name),
            kind: kind_name(d.kind),
            source: self
                .engine
                .source(d.name)
                .map(|s| s.path.clone())
                .unwrap_or_default(),
            offset: d.offset,
            object: object.to_string(),
            detail: None,
        }
    }
}

/// Where an object is: the names of the members leading to it and the
/// types of the containers holding it, outermost first.
#[derive(Default)]
struct Trail {
    names: Vec<String>,
    types: Vec<&'static str>,
}

/// Indicators that match one object (by its name and path, and when its
/// bytes are given, its hashes and text), as detections.
fn match_indicators(
    ind: &Indicators,
    object: Option<&mut Digests<'_>>,
    origin: &Path,
    members: &[String],
    found: &mut Vec<Found>,
) {
    let name = ObjectName {
        file: origin,
        members,
    };
    let hits = match object {
        Some(d) => ind.match_digested(name, d.data(), &mut |key| match key {
            Key::Md5 => d.md5().to_vec(),
            Key::Sha1 => d.sha1().to_vec(),
            _ => d.sha256().to_vec(),
        }),
        None => ind.match_name(name),
    };
    if hits.is_empty() {
        return;
    }
    let object = members.join("//");
    found.extend(hits.into_iter().map(|m| Found {
        name: m.name,
        signature: m.indicator,
        kind: m.kind,
        source: m.source,
        offset: 0,
        object: object.clone(),
        detail: Some(m.detail),
    }));
}

/// The detections of an engine pass; a pass cut short by its work budget
/// is noted as `MaxScanTime` (the object was not looked at everywhere).
fn checked(scanned: Scanned, budget: &mut Budget) -> Vec<Detection> {
    if scanned.cut_short {
        budget.note(Limit::MaxScanTime);
    }
    scanned.detections
}

/// The detection ClamAV reports for an exceeded limit.
fn heuristic(limit: Limit) -> Found {
    named_heuristic(format!("Heuristics.Limits.Exceeded.{}", limit.name()))
}

/// A heuristic detection of the object as a whole.
fn named_heuristic(name: String) -> Found {
    Found {
        signature: name.clone(),
        name,
        kind: "heuristic",
        source: String::new(),
        offset: 0,
        object: String::new(),
        detail: None,
    }
}

fn kind_name(kind: SigKind) -> &'static str {
    match kind {
        SigKind::FileHash(HashType::Md5) => "hash-md5",
        SigKind::FileHash(HashType::Sha1) => "hash-sha1",
        SigKind::FileHash(HashType::Sha256) => "hash-sha256",
        SigKind::SectionHash(HashType::Md5) => "pe-section-md5",
        SigKind::SectionHash(HashType::Sha1) => "pe-section-sha1",
        SigKind::SectionHash(HashType::Sha256) => "pe-section-sha256",
        SigKind::Body => "body",
        SigKind::Logical => "logical",
        SigKind::ContainerMeta => "container-metadata",
    }
}

/// An I/O error as an outcome, worded as clamscan words it where it can.
pub(crate) fn io_outcome(e: &std::io::Error) -> Outcome {
    match e.kind() {
        std::io::ErrorKind::NotFound => Outcome::NotFound,
        std::io::ErrorKind::PermissionDenied => Outcome::Error("Permission denied".to_string()),
        _ => Outcome::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Rules that count the objects they are asked about and find
    /// `marker`.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl ObjectRules for Counting {
        fn scan_object(&self, o: &ObjectRef<'_>, _: &mut Budget, found: &mut Vec<Found>) {
            self.0.fetch_add(1, Ordering::Relaxed);
            if o.data.windows(6).any(|w| w == b"marker") {
                found.push(named_heuristic("Test.Marker".into()));
            }
        }
    }

    fn scanner(cache: bool) -> (Scanner, Arc<Counting>) {
        let rules = Arc::new(Counting::default());
        let settings = ScanSettings {
            rules: vec![rules.clone()],
            clean_cache: cache.then(|| Arc::new(CleanCache::new(64))),
            ..ScanSettings::default()
        };
        let engine = Arc::new(Engine::build(bolwerk_sigs::SignatureSet::default()));
        (Scanner::new(engine, settings), rules)
    }

    #[test]
    fn clean_objects_are_scanned_once_per_name_and_content() {
        let (s, rules) = scanner(true);
        let count = || rules.0.load(Ordering::Relaxed);
        let (a, b) = (Path::new("a"), Path::new("b"));
        assert_eq!(s.scan_named(a, b"plain text"), Outcome::Clean);
        assert_eq!(count(), 1);
        assert_eq!(s.scan_named(a, b"plain text"), Outcome::Clean);
        assert_eq!(count(), 1, "found clean before: not scanned again");
        s.scan_named(b, b"plain text");
        assert_eq!(count(), 2, "rules see the name: another name is scanned");
        s.scan_named(a, b"plain text!");
        assert_eq!(count(), 3, "other bytes are scanned");
        for _ in 0..2 {
            assert!(matches!(s.scan_named(a, b"a marker"), Outcome::Infected(_)));
        }
        assert_eq!(count(), 5, "what was found is never cached");

        let (s, rules) = scanner(false);
        s.scan_named(a, b"plain text");
        s.scan_named(a, b"plain text");
        assert_eq!(rules.0.load(Ordering::Relaxed), 2, "no cache: every scan");
    }
}
