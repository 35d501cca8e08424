//! Words and their boxes from tesseract's TSV output, Chinese and Latin
//! script together (`chi_sim+eng`), one process per page.

use std::time::Duration;

use super::raster::Gray;
use super::tool::{Tool, ToolError};
use super::ScanError;

const TESSERACT: Tool = Tool {
    program: "tesseract",
    package: "tesseract-ocr tesseract-ocr-chi-sim",
};
/// Longest one page may take.
const PAGE_TIMEOUT: Duration = Duration::from_secs(120);
const LANGUAGES: &str = "chi_sim+eng";

/// One recognised word, its box in page pixels and the recogniser's
/// confidence (0–100).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
    pub conf: f32,
    /// Block, paragraph and line numbers: words of one line share them.
    pub line: (u32, u32, u32),
}

impl Word {
    pub fn centre(&self) -> (usize, usize) {
        (self.left + self.width / 2, self.top + self.height / 2)
    }
}

/// Recognise the words of one page image, Chinese and Latin script.
pub fn words(page: &Gray) -> Result<Vec<Word>, ScanError> {
    recognise(page, LANGUAGES, "6", &["preserve_interword_spaces=1"])
}

/// Recognise Chinese text alone (Latin digits included): for labels and
/// titles cut out of the page, where the Latin model only mistakes
/// characters for letters.
pub fn text(strip: &Gray) -> Result<Vec<Word>, ScanError> {
    recognise(strip, "chi_sim", "6", &[])
}

/// Words in reading order, spaced only between two Latin or digit words.
pub fn join(words: &[&Word]) -> String {
    let mut out = String::new();
    for w in words {
        let cjk_edge = out.chars().last().is_some_and(|c| !c.is_ascii())
            || w.text.chars().next().is_some_and(|c| !c.is_ascii());
        if !out.is_empty() && !cjk_edge {
            out.push(' ');
        }
        out.push_str(&w.text);
    }
    out
}

/// Recognise figures only: an image of figure cells stacked, digits and the
/// decimal point the only characters allowed.
pub fn figures(strip: &Gray) -> Result<Vec<Word>, ScanError> {
    recognise(strip, "eng", "6", &[DIGITS])
}

/// Recognise one figure cell on its own, as a single line of digits.
pub fn figure_line(crop: &Gray) -> Result<Vec<Word>, ScanError> {
    recognise(crop, "eng", "7", &[DIGITS])
}

const DIGITS: &str = "tessedit_char_whitelist=0123456789.";

fn recognise(
    page: &Gray,
    languages: &str,
    psm: &str,
    config: &[&str],
) -> Result<Vec<Word>, ScanError> {
    let mut file = tempfile::Builder::new()
        .suffix(".pgm")
        .tempfile()
        .map_err(|e| ScanError::Temp(e.to_string()))?;
    std::io::Write::write_all(&mut file, &page.to_pgm())
        .map_err(|e| ScanError::Temp(e.to_string()))?;
    let mut args: Vec<&std::ffi::OsStr> = vec![
        file.path().as_os_str(),
        "-".as_ref(),
        "-l".as_ref(),
        languages.as_ref(),
        "--psm".as_ref(),
        psm.as_ref(),
    ];
    for c in config {
        args.push("-c".as_ref());
        args.push(c.as_ref());
    }
    args.push("tsv".as_ref());
    // One thread per process: pages are read one after another, and
    // OpenMP's spinning threads only slow a shared machine down.
    let out = TESSERACT
        .run(&args, &[("OMP_THREAD_LIMIT", "1")], PAGE_TIMEOUT)
        .map_err(|e| match e {
            ToolError::Failed { message, .. } if message.contains("chi_sim") => {
                ScanError::Tool(ToolError::Missing {
                    program: "tesseract's chi_sim language data",
                    package: "tesseract-ocr-chi-sim",
                })
            }
            e => ScanError::Tool(e),
        })?;
    Ok(parse_tsv(&String::from_utf8_lossy(&out)))
}

/// The words (level 5 rows) of tesseract's TSV; rows that do not parse are
/// skipped.
pub fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 12 || f[0] != "5" {
                return None;
            }
            let text = f[11].trim();
            if text.is_empty() {
                return None;
            }
            let n = |i: usize| f[i].parse::<usize>().ok();
            let k = |i: usize| f[i].parse::<u32>().ok();
            Some(Word {
                text: text.to_string(),
                left: n(6)?,
                top: n(7)?,
                width: n(8)?,
                height: n(9)?,
                conf: f[10].parse::<f32>().ok()?,
                line: (k(2)?, k(3)?, k(4)?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_from_tsv() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   4\t1\t1\t1\t1\t0\t10\t10\t90\t20\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t10\t30\t20\t96.5\t规章\n\
                   5\t1\t1\t1\t1\t2\t60\t11\t12\t18\t41\t0\n\
                   5\t1\t1\t1\t1\t3\t80\tx\t12\t18\t41\t7\n\
                   5\t1\t1\t1\t1\t4\t90\t11\t12\t18\t95\t \n";
        let w = parse_tsv(tsv);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].text, "规章");
        assert_eq!(w[1].centre(), (66, 20));
        assert_eq!(w[1].conf, 41.0);
    }
}
