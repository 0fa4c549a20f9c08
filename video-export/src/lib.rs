//! Outputs of video-dataset that training and review tools read, made from a dataset that
//! extraction wrote, through [`DatasetSink`](video_core::DatasetSink) only (so any store the
//! dataset lives in will do):
//!
//! - WebDataset tar shards (`{key}.jpg` + `{key}.json`), read by the `webdataset` Python package;
//! - a contact sheet per video (one PNG, a grid of its sampled frames labelled with index and
//!   timestamp) and an `index.html` for a dataset folder.
//!
//! Every output is a whole object written in one put, named only by what it holds, so a re-run
//! rewrites the same bytes and an interrupted run leaves nothing half-written.

mod contact;

pub use contact::{
    BACKGROUND, ContactSheet, ContactSheetOptions, FolderSheets, IndexEntry, MAX_SHEET_PIXELS,
    SheetTile, format_time, frame_label, index_html, relative_href, tile_positions,
    write_contact_sheet, write_contact_sheets, write_index_html,
};
pub mod webdataset;

pub use webdataset::{ShardInfo, WebDatasetOptions, WebDatasetReport, write_webdataset};
