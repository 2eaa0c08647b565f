//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed here
//! when missing and allowed) renders the page to a PNG under `target/report/`, and the picture
//! is checked not blank: each of the page's sections, found by the colour of the rule under its
//! heading, holds several distinct colours, at least one of them saturated (a chart).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process;

/// Sections of the page (verdict, dataset, trends, mix, amounts, rétrocessions, agencies,
/// compliance, anomalies, ratios).
const SECTIONS: usize = 10;
/// The colour of the rule under each section heading (`h2` in the report's style).
const HEADING_RULE: [u8; 3] = [0xb8, 0xc4, 0xd6];
/// The browser window: the page's width, and taller than the page.
const WINDOW: (u32, u32) = (1100, 16_000);
/// Distinct colours a section needs, in all and saturated.
const MIN_COLOURS: usize = 8;
const MIN_SATURATED: usize = 1;

/// Renders `page` and checks the picture; returns the PNG's path.
pub fn check(page: &Path) -> Result<PathBuf> {
    let chromium = chromium()?;
    let folder = page.parent().context("the report has no folder")?;
    let png = folder.join("report.png");
    let profile = folder.join("chromium-profile");
    let url = format!("file://{}", page.canonicalize()?.display());
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        // Anything that still tries the network meets a closed local port.
        "--proxy-server=127.0.0.1:9".into(),
        "--hide-scrollbars".into(),
        "--force-device-scale-factor=1".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        format!("--screenshot={}", png.display()),
        url,
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    process::capture(&chromium, &args, &[])?;
    let _ = std::fs::remove_dir_all(&profile);
    let image = Image::read(&png)?;
    let sections = image.sections();
    if sections.len() != SECTIONS {
        bail!("{}: found {} section headings, expected {SECTIONS}", png.display(), sections.len());
    }
    let end = image.content_end();
    let mut summary = Vec::new();
    for (i, start) in sections.iter().enumerate() {
        let stop = sections.get(i + 1).copied().unwrap_or(end);
        let (colours, saturated) = image.colours(*start, stop);
        if colours < MIN_COLOURS || saturated < MIN_SATURATED {
            bail!(
                "{}: section {} (rows {start}..{stop}) looks blank: {colours} colours, {saturated} saturated",
                png.display(),
                i + 1
            );
        }
        summary.push(colours.to_string());
    }
    image.write_top(&png, end)?;
    println!("    {}: {SECTIONS} sections drawn, colours per section {}", png.display(), summary.join(" "));
    Ok(png)
}

/// The browser: `$CHROMIUM`, else `chromium` on the path, else Debian's package installed
/// with apt-get when running as root.
fn chromium() -> Result<String> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(path.to_string_lossy().into_owned());
    }
    let found = |name: &str| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
    for name in ["chromium", "chromium-browser"] {
        if found(name) {
            return Ok(name.to_owned());
        }
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root || !found("apt-get") {
        bail!(
            "headless Chromium is needed to check the HTML report: install Debian's `chromium` \
             (sudo apt-get install chromium fonts-dejavu-core) or set CHROMIUM to a Chromium or Chrome binary"
        );
    }
    println!("    installing chromium with apt-get");
    process::run("apt-get", &["update", "-qq"], &[])?;
    let packages = ["install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core"];
    process::run("apt-get", &packages, &[("DEBIAN_FRONTEND".into(), "noninteractive".into())])?;
    Ok("chromium".to_owned())
}

/// A decoded screenshot, RGB.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("Chromium wrote no {}", path.display()))?;
        let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info()?;
        let mut buffer = vec![0; reader.output_buffer_size().context("image too large")?];
        let info = reader.next_frame(&mut buffer)?;
        let samples = info.color_type.samples();
        if info.bit_depth != png::BitDepth::Eight || samples < 3 {
            bail!("{}: unexpected PNG format {:?} {:?}", path.display(), info.color_type, info.bit_depth);
        }
        let rgb =
            buffer[..info.buffer_size()].chunks_exact(samples).flat_map(|p| [p[0], p[1], p[2]]).collect();
        Ok(Self { width: info.width as usize, height: info.height as usize, rgb })
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The first row of each heading rule: rows where most of the width is its colour.
    fn sections(&self) -> Vec<usize> {
        let ruled =
            |y: usize| (0..self.width).filter(|x| self.pixel(*x, y) == HEADING_RULE).count() > self.width / 2;
        (0..self.height).filter(|y| ruled(*y) && (*y == 0 || !ruled(y - 1))).collect()
    }

    /// The row after the last one that differs from the page background (the bottom corner).
    fn content_end(&self) -> usize {
        let background = self.pixel(0, self.height - 1);
        let blank = |y: usize| (0..self.width).all(|x| self.pixel(x, y) == background);
        (0..self.height).rev().find(|y| !blank(*y)).map_or(0, |y| y + 1)
    }

    /// Distinct colours in rows `start..stop`, and how many of them are saturated.
    fn colours(&self, start: usize, stop: usize) -> (usize, usize) {
        let mut seen = std::collections::HashSet::new();
        for y in start..stop {
            for x in 0..self.width {
                seen.insert(self.pixel(x, y));
            }
        }
        let saturated = seen.iter().filter(|[r, g, b]| r.max(g).max(b) - r.min(g).min(b) > 80).count();
        (seen.len(), saturated)
    }

    /// Rewrites the PNG cut to its first `rows` rows (the page, without the empty window below).
    fn write_top(&self, path: &Path, rows: usize) -> Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width as u32, rows as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.rgb[..rows * self.width * 3])?;
        Ok(())
    }
}
