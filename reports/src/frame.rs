//! Small polars helpers: reading typed columns back out of a frame, and writing a frame as
//! CSV and Parquet.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use spec::schema::CellRef;

use crate::error::ReportError;
use crate::write::{commit, temporary_path};

pub(crate) fn strings(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

pub(crate) fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    Ok(df.column(name)?.f64()?.iter().collect())
}

pub(crate) fn counts(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u32>>> {
    Ok(df.column(name)?.u32()?.iter().collect())
}

pub(crate) fn flags(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<bool>>> {
    Ok(df.column(name)?.bool()?.iter().collect())
}

/// A named column from any slice polars can take (strings, numbers, options of them).
pub(crate) fn column<T, V>(name: &str, values: V) -> Column
where
    Series: NamedFrom<V, T>,
    T: ?Sized,
{
    Series::new(name.into(), values).into()
}

/// Writes `df` as `dir/stem.csv` and `dir/stem.parquet`, each through a temporary file.
pub(crate) fn write_csv_and_parquet(
    df: &DataFrame,
    dir: &Path,
    stem: &str,
) -> Result<(PathBuf, PathBuf), ReportError> {
    std::fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    let csv = dir.join(format!("{stem}.csv"));
    let parquet = dir.join(format!("{stem}.parquet"));
    let mut frame = df.clone();
    write_with(&csv, |file| {
        CsvWriter::new(file).finish(&mut frame).map(drop)
    })?;
    write_with(&parquet, |file| {
        ParquetWriter::new(file).finish(&mut frame).map(drop)
    })?;
    Ok((csv, parquet))
}

fn write_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> PolarsResult<()>,
) -> Result<(), ReportError> {
    let tmp = temporary_path(path);
    let mut file = std::fs::File::create(&tmp).map_err(ReportError::io(path))?;
    write(&mut file).map_err(|e| ReportError::Frame {
        what: path.display().to_string(),
        reason: e.to_string(),
    })?;
    drop(file);
    commit(&tmp, path)
}

/// Reads a Parquet file this crate wrote.
pub fn read_parquet(path: &Path) -> Result<DataFrame, ReportError> {
    let file = std::fs::File::open(path).map_err(ReportError::io(path))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| ReportError::malformed(path, e.to_string()))
}

/// The table, row and column columns of `cells`.
pub(crate) fn cell_columns(cells: &[&CellRef]) -> Vec<Column> {
    let text = |f: fn(&CellRef) -> &str| cells.iter().map(|c| f(c).to_string()).collect::<Vec<_>>();
    vec![
        column("table", text(|c| &c.table)),
        column("row", text(|c| &c.row)),
        column("column", text(|c| &c.column)),
    ]
}

/// The cells of a frame that has [`cell_columns`].
pub(crate) fn read_cells(df: &DataFrame) -> PolarsResult<Vec<CellRef>> {
    let (table, row, col) = (
        strings(df, "table")?,
        strings(df, "row")?,
        strings(df, "column")?,
    );
    Ok((0..df.height())
        .map(|i| CellRef {
            table: table[i].clone().unwrap_or_default(),
            row: row[i].clone().unwrap_or_default(),
            column: col[i].clone().unwrap_or_default(),
        })
        .collect())
}
