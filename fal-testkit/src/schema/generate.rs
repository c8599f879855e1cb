//! Output synthesis from the output schema.
//!
//! Every value is a function of the seed and the JSON path it sits at, so the
//! same seed gives the same output, and two fields never share a random draw.
//! Rules, in order: `const`; a valid `default`; an `enum` member; then by type
//! within the schema's limits. Required properties are always present;
//! optional ones are filled too (fal's outputs usually carry them) until the
//! nesting gets deep, where only required ones are (recursive schemas end).
//!
//! File objects (a model with a `url` and one of `content_type`, `file_name`,
//! `file_size`, `width`, `height`) get a testkit CDN URL serving real bytes.
//! The kind comes from the declared `content_type` (const, enum, default or
//! example), else from names (`video` → MP4, `audio`/`speech`/`voice` → WAV,
//! `image`/`mask`/`frame` or a `width` property → image, else binary);
//! images are JPEG when declared or when the input asks `output_format:
//! "jpeg"`, else PNG. Sizes follow the input's `image_size` (preset or
//! `{width, height}`), `aspect_ratio` or `resolution`; durations its `duration`.

use fal_codegen::parse::Document;
use schemars::schema::{InstanceType, Schema, SchemaObject};
use serde_json::{json, Map, Value};

use super::resolve::{self, MAX_DEPTH};
use crate::{image, media};

/// What synthesis needs besides the schema and the input.
#[derive(Clone, Debug)]
pub struct SynthParams<'a> {
    /// Seeds every value (the input's `seed`, else derived from the request id).
    pub seed: u64,
    /// Absolute CDN base URL the file URLs start with (`http://127.0.0.1:PORT/cdn`).
    pub cdn_base: &'a str,
    /// Reported as `timings.inference`, in seconds.
    pub inference_secs: f64,
}

/// Optional properties are left out below this depth.
const OPTIONAL_DEPTH: usize = 6;
/// Largest image side drawn (reported sizes are clamped to it).
const MAX_IMAGE_SIDE: u32 = media::MAX_JPEG_SIDE;

pub(super) fn generate(
    doc: &Document,
    schema: &Schema,
    input: &Value,
    p: &SynthParams<'_>,
) -> Value {
    let gen = Gen { doc, input, p };
    gen.value(schema, "", "", 0)
}

struct Gen<'a> {
    doc: &'a Document,
    input: &'a Value,
    p: &'a SynthParams<'a>,
}

/// FNV-1a, to key random draws by path.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A lax integer from the input (number, integral float or numeric string).
pub(crate) fn lax_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lax_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('s').parse().ok(),
        _ => None,
    }
}

impl Gen<'_> {
    fn draw(&self, path: &str) -> u64 {
        splitmix(self.p.seed ^ fnv(path))
    }

    /// An input field as the app sees it: the value sent, else the input
    /// schema's default for it (fal applies defaults before the app runs).
    fn input_field(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.input.get(name).filter(|v| !v.is_null()) {
            return Some(v.clone());
        }
        let root = resolve::object(self.doc, &self.doc.input)?;
        let prop = root.object.as_deref()?.properties.get(name)?;
        let declared = match prop {
            schemars::schema::Schema::Object(o) => o.metadata.as_deref()?.default.clone(),
            schemars::schema::Schema::Bool(_) => None,
        };
        declared
            .or_else(|| {
                resolve::object(self.doc, prop)
                    .and_then(resolve::default)
                    .cloned()
            })
            .filter(|v| !v.is_null())
    }

    fn value(&self, schema: &Schema, name: &str, path: &str, depth: usize) -> Value {
        let Some(o) = resolve::object(self.doc, schema) else {
            return Value::Null;
        };
        if depth > MAX_DEPTH {
            return resolve::default(o).cloned().unwrap_or(Value::Null);
        }
        if let Some(c) = &o.const_value {
            return c.clone();
        }
        if let Some(values) = &o.enum_values {
            if let Some(d) = resolve::default(o).filter(|d| values.contains(d)) {
                return d.clone();
            }
            if values.is_empty() {
                return Value::Null;
            }
            let pick = (self.draw(path) % values.len() as u64) as usize;
            return values[pick].clone();
        }
        if let Some(parts) = resolve::all_of(o) {
            return self.all_of(parts, name, path, depth);
        }
        if let Some(arms) = resolve::union_arms(o) {
            let real = arms.iter().find(|a| !resolve::is_null(self.doc, a));
            let null = arms.iter().any(|a| resolve::is_null(self.doc, a));
            return match real {
                Some(arm) if !(null && depth > OPTIONAL_DEPTH) => {
                    self.value(arm, name, path, depth + 1)
                }
                _ => Value::Null,
            };
        }
        let types = resolve::types(o);
        let t = types
            .iter()
            .copied()
            .find(|t| *t != InstanceType::Null)
            .or_else(|| o.object.is_some().then_some(InstanceType::Object))
            .or_else(|| o.array.is_some().then_some(InstanceType::Array));
        match t {
            Some(InstanceType::Object) => self.object(o, name, path, depth, schema),
            Some(InstanceType::Array) => self.array(o, name, path, depth),
            Some(InstanceType::String) => self.string(o, name, path),
            Some(InstanceType::Integer) => self.integer(o, name, path),
            Some(InstanceType::Number) => self.number(o, path),
            Some(InstanceType::Boolean) => match resolve::default(o) {
                Some(Value::Bool(b)) => Value::Bool(*b),
                _ => Value::Bool(false),
            },
            Some(InstanceType::Null) => Value::Null,
            None => resolve::default(o).cloned().unwrap_or(Value::Null),
        }
    }

    fn all_of(&self, parts: &[Schema], name: &str, path: &str, depth: usize) -> Value {
        if let [only] = parts {
            return self.value(only, name, path, depth + 1);
        }
        let mut merged = Map::new();
        for part in parts {
            match self.value(part, name, path, depth + 1) {
                Value::Object(m) => merged.extend(m),
                other => return other,
            }
        }
        Value::Object(merged)
    }

    fn object(
        &self,
        o: &SchemaObject,
        name: &str,
        path: &str,
        depth: usize,
        schema: &Schema,
    ) -> Value {
        let Some(v) = o.object.as_deref() else {
            return json!({});
        };
        if v.properties.is_empty() {
            let numbers = v.additional_properties.as_deref().is_some_and(|s| {
                resolve::object(self.doc, s)
                    .is_some_and(|x| resolve::types(x).contains(&InstanceType::Number))
            });
            if name == "timings" && numbers {
                return json!({ "inference": self.p.inference_secs });
            }
            return json!({});
        }
        if is_file(o) {
            let hint = format!(
                "{name} {} {}",
                resolve::ref_name(schema).unwrap_or_default(),
                resolve::title(o).unwrap_or_default()
            );
            return self.file(o, &hint, path, depth);
        }
        let mut out = Map::new();
        for (key, prop) in resolve::properties(o) {
            if !v.required.contains(key) && depth > OPTIONAL_DEPTH {
                continue;
            }
            let child = format!("{path}/{key}");
            out.insert(key.clone(), self.value(prop, key, &child, depth + 1));
        }
        Value::Object(out)
    }

    /// How many items an array gets: the input's image count when it gives
    /// one, else one, within the schema's item limits.
    fn count(&self, o: &SchemaObject, depth: usize) -> usize {
        let wanted = ["num_images", "num_outputs", "num_samples"]
            .iter()
            .find_map(|k| self.input_field(k).as_ref().and_then(lax_int))
            .map_or(1, |n| n.clamp(0, 16) as usize);
        let wanted = if depth > OPTIONAL_DEPTH { 0 } else { wanted };
        let limits = o.array.as_deref();
        let min = limits.and_then(|a| a.min_items).map_or(0, |m| m as usize);
        let max = limits
            .and_then(|a| a.max_items)
            .map_or(usize::MAX, |m| m as usize);
        wanted.max(min).min(max)
    }

    fn array(&self, o: &SchemaObject, name: &str, path: &str, depth: usize) -> Value {
        let n = self.count(o, depth);
        let Some(item) = resolve::items(o) else {
            return Value::Array(vec![Value::Null; n]);
        };
        (0..n)
            .map(|i| self.value(item, name, &format!("{path}/{i}"), depth + 1))
            .collect()
    }

    fn string(&self, o: &SchemaObject, name: &str, path: &str) -> Value {
        let limits = o.string.as_deref();
        let min = limits.and_then(|s| s.min_length).unwrap_or(0) as usize;
        let max = limits
            .and_then(|s| s.max_length)
            .map_or(usize::MAX, |m| m as usize);
        // The validator's own rules (lengths and pattern), so what is
        // synthesized always validates.
        let rules = fal_codegen::ir::Limits::of(o);
        let fits = |s: &str| {
            let mut broken = Vec::new();
            super::validate::rules(&rules).string(s, &mut broken);
            broken.is_empty()
        };
        if let Some(Value::String(d)) = resolve::default(o) {
            if fits(d) {
                return Value::String(d.clone());
            }
        }
        if name == "prompt" {
            if let Some(Value::String(p)) = self.input_field("prompt") {
                if fits(&p) {
                    return Value::String(p);
                }
            }
        }
        let lower = name.to_ascii_lowercase();
        let is_url =
            o.format.as_deref() == Some("uri") || lower == "url" || lower.ends_with("_url");
        if is_url {
            let url = self.file_url(&lower, path, 0).0;
            if fits(&url) {
                return Value::String(url);
            }
        }
        let example = o
            .metadata
            .as_deref()
            .and_then(|m| m.examples.iter().find_map(|e| e.as_str()))
            .filter(|e| fits(e));
        if let Some(e) = example {
            return Value::String(e.to_owned());
        }
        let stem = if name.is_empty() { "text" } else { name };
        let draw = self.draw(path) as u32;
        // Word characters only as a second choice, for patterns like `^\w+$`.
        let candidates = [format!("{stem}-{draw:08x}"), format!("{stem}{draw:08x}")];
        let sized = |text: &str| {
            let mut text = text.to_owned();
            while text.chars().count() < min {
                text.push('x');
            }
            text.chars().take(max).collect::<String>()
        };
        let text = candidates
            .iter()
            .map(|c| sized(c))
            .find(|c| fits(c))
            .unwrap_or_else(|| sized(&candidates[0]));
        Value::String(text)
    }

    fn integer(&self, o: &SchemaObject, name: &str, path: &str) -> Value {
        let limits = o.number.as_deref();
        let lo = limits
            .and_then(|n| {
                n.exclusive_minimum
                    .map(|v| v.floor() + 1.0)
                    .or(n.minimum.map(f64::ceil))
            })
            .map(|v| v.clamp(-9e15, 9e15) as i64);
        let hi = limits
            .and_then(|n| {
                n.exclusive_maximum
                    .map(|v| v.ceil() - 1.0)
                    .or(n.maximum.map(f64::floor))
            })
            .map(|v| v.clamp(-9e15, 9e15) as i64);
        let ok = |v: i64| lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h);
        let step = limits
            .and_then(|n| n.multiple_of)
            .filter(|m| *m >= 1.0 && m.fract() == 0.0)
            .map(|m| m as i64);
        let on_step = |v: i64| step.is_none_or(|s| v % s == 0);
        if name == "seed" {
            let seed = i64::try_from(self.p.seed).unwrap_or(i64::MAX);
            if ok(seed) && on_step(seed) {
                return json!(seed);
            }
        }
        if let Some(d) = resolve::default(o).and_then(Value::as_i64) {
            if ok(d) && on_step(d) {
                return json!(d);
            }
        }
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h.max(l)),
            (Some(l), None) => (l, l.saturating_add(100)),
            (None, Some(h)) => (h.saturating_sub(100), h),
            (None, None) => (0, 100),
        };
        let (lo, hi) = (lo.min(hi), hi);
        match step {
            Some(s) => {
                let kmin = lo.div_euclid(s) + i64::from(lo.rem_euclid(s) != 0);
                let kmax = hi.div_euclid(s);
                let span = (kmax - kmin).max(0) as u64 + 1;
                json!((kmin + (self.draw(path) % span) as i64) * s)
            }
            None => {
                let span = (hi as i128 - lo as i128 + 1).clamp(1, i128::from(u64::MAX)) as u64;
                json!(lo.saturating_add((self.draw(path) % span) as i64))
            }
        }
    }

    fn number(&self, o: &SchemaObject, path: &str) -> Value {
        let limits = o.number.as_deref();
        let step = limits.and_then(|n| n.multiple_of).filter(|s| *s > 0.0);
        let fits = |d: f64| {
            limits.is_none_or(|n| {
                n.exclusive_minimum.is_none_or(|m| d > m)
                    && n.minimum.is_none_or(|m| d >= m)
                    && n.exclusive_maximum.is_none_or(|m| d < m)
                    && n.maximum.is_none_or(|m| d <= m)
            }) && step.is_none_or(|s| ((d / s) - (d / s).round()).abs() <= 1e-9)
        };
        if let Some(d) = resolve::default(o).and_then(Value::as_f64) {
            if fits(d) {
                return json!(d);
            }
        }
        let lo = limits.and_then(|n| n.exclusive_minimum.or(n.minimum));
        let hi = limits.and_then(|n| n.exclusive_maximum.or(n.maximum));
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h.max(l)),
            (Some(l), None) => (l, l + 1.0),
            (None, Some(h)) => (h - 1.0, h),
            (None, None) => (0.0, 1.0),
        };
        let draw = self.draw(path);
        if let Some(step) = step {
            // A multiple of `step` strictly inside the bounds when one exists.
            let mut kmin = (lo / step).ceil();
            if !fits(kmin * step) {
                kmin += 1.0;
            }
            let mut kmax = (hi / step).floor();
            if !fits(kmax * step) {
                kmax -= 1.0;
            }
            let span = (kmax - kmin).clamp(0.0, 1e12) as u64 + 1;
            return json!((kmin + (draw % span) as f64) * step);
        }
        let u = (draw >> 11) as f64 / (1u64 << 53) as f64;
        json!(lo + (hi - lo) * (0.25 + 0.5 * u))
    }

    /// The requested image size: `image_size` (preset or `{width, height}`),
    /// else `aspect_ratio` (`"16:9"`) or `resolution` (`"720p"`), else a default.
    fn image_size(&self, video: bool) -> (u32, u32) {
        let default = if video { (1280, 720) } else { (1024, 768) };
        if let Some(size) = self.input_field("image_size") {
            match &size {
                Value::String(preset) => {
                    let found = crate::synth::PRESETS.iter().find(|(n, _, _)| n == preset);
                    if let Some((_, w, h)) = found {
                        return (*w, *h);
                    }
                }
                Value::Object(m) => {
                    let side = |k: &str| {
                        m.get(k)
                            .and_then(lax_int)
                            .and_then(|v| u32::try_from(v).ok())
                    };
                    if let (Some(w), Some(h)) = (side("width"), side("height")) {
                        return (w, h);
                    }
                }
                _ => {}
            }
        }
        let long = self
            .input_field("resolution")
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|r| r.trim_end_matches(['p', 'P']).parse::<u32>().ok())
            .map(|h| (h * 16 / 9, h));
        let base = long.unwrap_or(default);
        if let Some(Value::String(ratio)) = self.input_field("aspect_ratio") {
            if let Some((a, b)) = ratio.split_once(':') {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                    if a > 0.0 && b > 0.0 {
                        let longest = f64::from(base.0.max(base.1));
                        return if a >= b {
                            (longest as u32, (longest * b / a).round().max(1.0) as u32)
                        } else {
                            ((longest * a / b).round().max(1.0) as u32, longest as u32)
                        };
                    }
                }
            }
        }
        base
    }

    fn duration_ms(&self, video: bool) -> u32 {
        let secs = self
            .input_field("duration")
            .as_ref()
            .and_then(lax_float)
            .filter(|s| s.is_finite())
            .unwrap_or(if video { 5.0 } else { 1.0 });
        ((secs * 1000.0)
            .round()
            .clamp(100.0, f64::from(media::MAX_MS))) as u32
    }

    /// The image format the input asks for (`output_format` / `format`), if any.
    fn asked_format(&self) -> Option<FileKind> {
        ["output_format", "format"].iter().find_map(|k| {
            let v = self.input_field(k)?;
            let f = v.as_str()?.to_ascii_lowercase();
            match f.as_str() {
                "jpeg" | "jpg" => Some(FileKind::Jpeg),
                "png" => Some(FileKind::Png),
                _ => None,
            }
        })
    }

    /// What kind of file a field holds: a content type the schema pins wins,
    /// then names, then a schema default or example; images take the
    /// input's requested format, else the default's, else PNG.
    fn kind_of(&self, declared: Option<&Declared>, hint: &str) -> FileKind {
        let hint = hint.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| hint.contains(w));
        let image = |ct: &str| {
            if ct.contains("jpeg") || ct.contains("jpg") {
                FileKind::Jpeg
            } else {
                FileKind::Png
            }
        };
        let by_type = |ct: &str| {
            if ct.starts_with("video/") {
                Some(FileKind::Video)
            } else if ct.starts_with("audio/") {
                Some(FileKind::Audio)
            } else if ct.starts_with("image/") {
                Some(image(ct))
            } else {
                None
            }
        };
        if let Some(Declared {
            value,
            pinned: true,
        }) = declared
        {
            if let Some(kind) = by_type(value) {
                return kind;
            }
        }
        let soft = declared.and_then(|d| by_type(&d.value));
        let named = if has(&["video"]) {
            Some(FileKind::Video)
        } else if has(&["audio", "speech", "voice", "sound", "music"]) {
            Some(FileKind::Audio)
        } else if has(&["image", "mask", "frame", "thumbnail", "width"]) {
            Some(FileKind::Png)
        } else {
            None
        };
        // Names beat an example or default: fal's shared `File` model carries
        // one example content type whatever the field holds.
        let soft_image = soft.filter(|k| matches!(k, FileKind::Png | FileKind::Jpeg));
        match named.or(soft) {
            Some(FileKind::Png | FileKind::Jpeg) => {
                self.asked_format().or(soft_image).unwrap_or(FileKind::Png)
            }
            Some(kind) => kind,
            None => FileKind::Bin,
        }
    }

    /// A CDN URL with real bytes; returns the URL and its spec.
    fn file_url(&self, hint: &str, path: &str, index: u32) -> (String, FileSpec) {
        let kind = self.kind_of(None, hint);
        self.url_for(kind, path, index)
    }

    fn url_for(&self, kind: FileKind, path: &str, index: u32) -> (String, FileSpec) {
        let tag = self.draw(path);
        let clamp = |s: u32| s.clamp(1, MAX_IMAGE_SIDE);
        let spec = match kind {
            FileKind::Png => {
                let (w, h) = self.image_size(false);
                FileSpec::Png(image::Spec {
                    width: clamp(w),
                    height: clamp(h),
                    seed: tag,
                    index,
                })
            }
            FileKind::Jpeg | FileKind::Video | FileKind::Audio | FileKind::Bin => {
                let video = kind == FileKind::Video;
                let (w, h) = self.image_size(video);
                let media_kind = match kind {
                    FileKind::Jpeg => media::Kind::Jpeg,
                    FileKind::Video => media::Kind::Mp4,
                    FileKind::Audio => media::Kind::Wav,
                    _ => media::Kind::Bin,
                };
                let timed = matches!(kind, FileKind::Video | FileKind::Audio);
                FileSpec::Media(media::Spec {
                    kind: media_kind,
                    tag,
                    width: clamp(w),
                    height: clamp(h),
                    ms: if timed { self.duration_ms(video) } else { 0 },
                })
            }
        };
        let file = match &spec {
            FileSpec::Png(s) => image::path(s.width, s.height, s.seed, s.index),
            FileSpec::Media(s) => media::path(s),
        };
        (format!("{}/{file}", self.p.cdn_base), spec)
    }

    fn file(&self, o: &SchemaObject, hint: &str, path: &str, depth: usize) -> Value {
        let Some(v) = o.object.as_deref() else {
            return json!({});
        };
        let declared = v
            .properties
            .get("content_type")
            .and_then(|s| resolve::object(self.doc, s))
            .and_then(declared_string);
        let has_size = v.properties.contains_key("width");
        let hint = if has_size {
            format!("{hint} width")
        } else {
            hint.to_owned()
        };
        let kind = self.kind_of(declared.as_ref(), &hint);
        let index = path
            .rsplit('/')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let (url, spec) = self.url_for(kind, path, index);
        let (content_type, ext, width, height, ms) = match &spec {
            FileSpec::Png(s) => ("image/png", "png", s.width, s.height, 0),
            FileSpec::Media(s) => {
                let ext = url.rsplit('.').next().unwrap_or("bin");
                (s.kind.content_type(), ext, s.width, s.height, s.ms)
            }
        };
        let content_type = match declared {
            Some(Declared {
                value,
                pinned: true,
            }) => value,
            _ => content_type.to_owned(),
        };
        let mut out = Map::new();
        for (key, prop) in resolve::properties(o) {
            let required = v.required.contains(key);
            let value = match key.as_str() {
                "url" => json!(url),
                "content_type" => json!(content_type),
                "file_name" => json!(format!("output-{index}.{ext}")),
                "width" if !matches!(kind, FileKind::Audio | FileKind::Bin) => json!(width),
                "height" if !matches!(kind, FileKind::Audio | FileKind::Bin) => json!(height),
                "duration" if ms > 0 && accepts_number(self.doc, prop) => {
                    json!(f64::from(ms) / 1000.0)
                }
                "file_size" => match spec.size() {
                    Some(n) => json!(n),
                    None if required => json!(spec.render_len()),
                    None => continue,
                },
                "file_data" if !required => continue,
                _ if !required && depth > OPTIONAL_DEPTH => continue,
                _ => self.value(prop, key, &format!("{path}/{key}"), depth + 1),
            };
            out.insert(key.clone(), value);
        }
        Value::Object(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Png,
    Jpeg,
    Video,
    Audio,
    Bin,
}

enum FileSpec {
    Png(image::Spec),
    Media(media::Spec),
}

impl FileSpec {
    fn size(&self) -> Option<u64> {
        match self {
            FileSpec::Png(_) => None,
            FileSpec::Media(s) => media::size_of(s),
        }
    }

    /// Renders the file to measure it (only when a schema requires `file_size`).
    fn render_len(&self) -> u64 {
        let len = match self {
            FileSpec::Png(s) => image::render(*s).map(|b| b.len()).unwrap_or(0),
            FileSpec::Media(s) => media::render(s).map(|b| b.len()).unwrap_or(0),
        };
        len as u64
    }
}

/// A model with a `url` and file-ish properties is one of fal's file shapes.
fn is_file(o: &SchemaObject) -> bool {
    o.object.as_deref().is_some_and(|v| {
        v.properties.contains_key("url")
            && ["content_type", "file_name", "file_size", "width", "height"]
                .iter()
                .any(|k| v.properties.contains_key(*k))
    })
}

/// A content type a schema names.
struct Declared {
    value: String,
    /// Const or enum: the field cannot hold anything else. A default or an
    /// example only says what is usual.
    pinned: bool,
}

/// The content type a `content_type` schema names: const or enum (pinned),
/// else default or example.
fn declared_string(o: &SchemaObject) -> Option<Declared> {
    let pinned = o.const_value.as_ref().and_then(Value::as_str).or_else(|| {
        o.enum_values
            .as_ref()
            .and_then(|v| v.first())
            .and_then(Value::as_str)
    });
    if let Some(value) = pinned {
        return Some(Declared {
            value: value.to_owned(),
            pinned: true,
        });
    }
    let meta = o.metadata.as_deref()?;
    meta.default
        .as_ref()
        .and_then(Value::as_str)
        .or_else(|| meta.examples.iter().find_map(Value::as_str))
        .filter(|s| s.contains('/'))
        .map(|value| Declared {
            value: value.to_owned(),
            pinned: false,
        })
}

fn accepts_number(doc: &Document, schema: &Schema) -> bool {
    let Some(o) = resolve::object(doc, schema) else {
        return true;
    };
    let direct = resolve::types(o);
    if direct.contains(&InstanceType::Number) {
        return true;
    }
    resolve::union_arms(o).is_some_and(|arms| {
        arms.iter().any(|a| {
            resolve::object(doc, a)
                .is_some_and(|x| resolve::types(x).contains(&InstanceType::Number))
        })
    })
}
