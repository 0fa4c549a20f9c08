//! Scenes: a video's sampled frames as an ordered list of image items (Scale Nucleus'
//! `VideoScene`), ready to be shown as a sequence by a labeling tool.

use std::collections::BTreeMap;

use crate::{Error, FrameRecord, Rational, Result, Selection, VideoManifest, VideoMetadata};

/// One frame of a scene.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SceneItem {
    /// Identifier of the item in the dataset, unique within it.
    pub reference_id: String,
    /// Where the image is (a key in the dataset or a URL).
    pub location: String,
    /// Free-form metadata (frame index, pts, source video, …).
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// What [`VideoScene::add_item`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddOutcome {
    /// The item was appended.
    Added,
    /// An item was at that position and `update` was set: it was replaced.
    Replaced,
    /// An item was at that position and `update` was not set: it was kept as it was.
    Kept,
}

/// The default largest number of items in a scene.
pub const DEFAULT_SCENE_CAP: usize = 3000;

/// An ordered list of frame items with a frame rate and scene metadata.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoScene {
    /// Identifier of the scene.
    pub reference_id: String,
    /// Frames per second at which the items are meant to be shown.
    pub frame_rate: Option<Rational>,
    /// The items, in order.
    pub items: Vec<SceneItem>,
    /// Free-form scene metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Largest number of items. Default: [`DEFAULT_SCENE_CAP`].
    #[serde(skip, default = "default_cap")]
    cap: usize,
}

fn default_cap() -> usize {
    DEFAULT_SCENE_CAP
}

/// `x` to a thousandth as a reduced fraction; `None` unless positive and finite.
fn rational_of(x: f64) -> Option<Rational> {
    if !x.is_finite() || x <= 0.0 || x > 1e12 {
        return None;
    }
    let num = (x * 1000.0).round() as i64;
    (num > 0).then(|| reduced(num, 1000))
}

fn reduced(num: i64, den: i64) -> Rational {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a.abs().max(1)
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(num, den);
    Rational::new(num / g, den / g)
}

impl VideoScene {
    /// An empty scene holding at most [`DEFAULT_SCENE_CAP`] items.
    pub fn new(reference_id: impl Into<String>, frame_rate: Option<Rational>) -> Self {
        VideoScene {
            reference_id: reference_id.into(),
            frame_rate,
            items: Vec::new(),
            metadata: BTreeMap::new(),
            cap: DEFAULT_SCENE_CAP,
        }
    }

    /// Hold at most `cap` items (at least 1).
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(1);
        self
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// A scene from the records of a sampled video, in index order: item reference ids are
    /// `{reference_id}_{index:06}`, locations the records' keys, metadata the frame index and pts.
    pub fn from_records(
        reference_id: impl Into<String>,
        frame_rate: Option<Rational>,
        records: &[FrameRecord],
    ) -> Result<Self> {
        let mut scene = Self::new(reference_id, frame_rate);
        let mut sorted: Vec<&FrameRecord> = records.iter().collect();
        sorted.sort_by_key(|r| r.index);
        for r in sorted {
            let mut metadata = BTreeMap::new();
            metadata.insert("frame_index".to_owned(), serde_json::Value::from(r.index));
            metadata.insert(
                "pts_seconds".to_owned(),
                serde_json::Value::from(r.pts_seconds),
            );
            let item = SceneItem {
                reference_id: format!("{}_{:06}", scene.reference_id, r.index),
                location: r.key.clone(),
                metadata,
            };
            let at = scene.items.len();
            scene.add_item(at, item, false)?;
        }
        Ok(scene)
    }

    /// A scene from a sampled video's manifest: items as in [`from_records`](Self::from_records),
    /// scene metadata the manifest's `sample_info` plus `source_location` (where the video was
    /// read from) and, when known, `source_content_hash`.
    pub fn from_manifest(
        reference_id: impl Into<String>,
        frame_rate: Option<Rational>,
        manifest: &VideoManifest,
    ) -> Result<Self> {
        let mut scene = Self::from_records(reference_id, frame_rate, &manifest.frames)?;
        scene.metadata = manifest
            .sample_info
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        scene.metadata.insert(
            "source_location".into(),
            manifest.source.location.clone().into(),
        );
        if let Some(h) = &manifest.source.content_hash {
            scene
                .metadata
                .insert("source_content_hash".into(), h.clone().into());
        }
        Ok(scene)
    }

    /// The rate at which the frames a plan samples from `video` are meant to be shown, for a
    /// scene of them: the plan's rate for [`Selection::Fps`], the video's rate divided by the
    /// step for [`Selection::Range`], the video's rate for every other selection (every frame,
    /// a time window, an index list: their items keep their own pts). The video's rate is its
    /// declared nominal rate, else its average rate; `None` when neither is known. Rates that
    /// are not whole numbers are kept to a thousandth (29.97 gives 2997/100).
    pub fn frame_rate_for(selection: &Selection, video: &VideoMetadata) -> Option<Rational> {
        let video_rate = video
            .nominal_fps
            .filter(|r| r.is_positive())
            .or_else(|| video.avg_fps.and_then(rational_of));
        match selection {
            Selection::Fps { fps, .. } => rational_of(*fps),
            Selection::Range { step, .. } => {
                let r = video_rate?;
                let den = r.den.checked_mul(i64::try_from(*step).ok()?)?;
                Some(reduced(r.num, den))
            }
            _ => video_rate,
        }
    }

    /// Check what [`add_item`](Self::add_item) guarantees, for a scene whose fields were set
    /// directly: at most [`cap`](Self::cap) items, unique item reference ids.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] or [`Error::InvalidOption`], naming the scene.
    pub fn validate(&self) -> Result<()> {
        if self.items.len() > self.cap {
            return Err(Error::LimitExceeded {
                what: format!("items in scene {:?}", self.reference_id),
                limit: self.cap as u64,
                actual: self.items.len() as u64,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for item in &self.items {
            if !seen.insert(item.reference_id.as_str()) {
                return Err(Error::InvalidOption {
                    option: "scene items".into(),
                    reason: format!(
                        "reference id {:?} is used twice in scene {:?}",
                        item.reference_id, self.reference_id
                    ),
                });
            }
        }
        Ok(())
    }

    /// Update this (stored) scene from a `newer` one with the same reference id: the scene
    /// metadata becomes `newer`'s, each item `newer` shares a reference id with gets `newer`'s
    /// item metadata (its position and location stay), and `newer`'s other items are appended
    /// in their order, within `newer`'s cap. When every item, stored and new, has a whole
    /// `frame_index` in its metadata (a scene of a video's frames, as
    /// [`from_records`](Self::from_records) makes), the items are then put back in frame order
    /// (a denser sampling of the video fills the gaps instead of trailing at the end). The frame
    /// rate stays. Returns how many items were appended.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when appending would pass the cap (the scene is then unchanged).
    pub fn update_from(&mut self, newer: &VideoScene) -> Result<usize> {
        let mut merged = self.clone().with_cap(newer.cap);
        merged.metadata = newer.metadata.clone();
        let mut appended = 0;
        for item in &newer.items {
            match merged
                .items
                .iter_mut()
                .find(|i| i.reference_id == item.reference_id)
            {
                Some(stored) => stored.metadata = item.metadata.clone(),
                None => {
                    let at = merged.items.len();
                    merged.add_item(at, item.clone(), false)?;
                    appended += 1;
                }
            }
        }
        let frame_index = |i: &SceneItem| i.metadata.get("frame_index").and_then(|v| v.as_u64());
        if appended > 0 && merged.items.iter().all(|i| frame_index(i).is_some()) {
            merged.items.sort_by_key(|i| frame_index(i));
        }
        *self = merged;
        Ok(appended)
    }

    /// Put `item` at position `index`: appended when `index` is the length (or beyond it);
    /// when an item is already there it is replaced only if `update` is set, and kept otherwise.
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when appending would pass the cap; [`Error::InvalidOption`] when
    /// another position already uses the item's reference id.
    pub fn add_item(&mut self, index: usize, item: SceneItem, update: bool) -> Result<AddOutcome> {
        if let Some(other) = self
            .items
            .iter()
            .position(|i| i.reference_id == item.reference_id)
            && other != index
        {
            return Err(Error::InvalidOption {
                option: "scene items".into(),
                reason: format!(
                    "reference id {:?} is already item {other} of scene {:?}",
                    item.reference_id, self.reference_id
                ),
            });
        }
        match self.items.get_mut(index) {
            Some(existing) if update => {
                *existing = item;
                Ok(AddOutcome::Replaced)
            }
            Some(_) => Ok(AddOutcome::Kept),
            None => {
                if self.items.len() >= self.cap {
                    return Err(Error::LimitExceeded {
                        what: format!("items in scene {:?}", self.reference_id),
                        limit: self.cap as u64,
                        actual: self.items.len() as u64 + 1,
                    });
                }
                self.items.push(item);
                Ok(AddOutcome::Added)
            }
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the scene has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record of a 2×2 frame `index` of a video at `fps`, stored at `key`.
    fn record(index: u64, fps: f64, key: &str) -> FrameRecord {
        FrameRecord {
            index,
            pts_seconds: index as f64 / fps,
            key: key.to_owned(),
            width: 2,
            height: 2,
            bytes: 1,
            content_hash: None,
            annotation_key: None,
            framemd5: None,
        }
    }

    #[test]
    fn frame_rates_of_plans() {
        let mut m = VideoMetadata::new("v.mp4");
        m.nominal_fps = Some(Rational::new(30000, 1001));
        m.avg_fps = Some(29.97);
        let rate = |sel: Selection, m: &VideoMetadata| VideoScene::frame_rate_for(&sel, m);
        assert_eq!(rate(Selection::All, &m), Some(Rational::new(30000, 1001)));
        let step = |step| Selection::Range {
            start: 0,
            end: None,
            step,
        };
        assert_eq!(rate(step(10), &m), Some(Rational::new(3000, 1001)));
        assert_eq!(rate(step(1), &m), Some(Rational::new(30000, 1001)));
        let fps = |fps| Selection::Fps {
            fps,
            start_seconds: None,
            end_seconds: None,
        };
        assert_eq!(rate(fps(2.0), &m), Some(Rational::new(2, 1)));
        assert_eq!(rate(fps(0.5), &m), Some(Rational::new(1, 2)));
        assert_eq!(
            rate(Selection::Indices(vec![1, 9]), &m),
            Some(Rational::new(30000, 1001))
        );
        // No declared rate: the average, to a thousandth.
        m.nominal_fps = None;
        assert_eq!(rate(step(3), &m), Some(Rational::new(999, 100)));
        m.avg_fps = None;
        assert_eq!(rate(step(3), &m), None);
        assert_eq!(rate(fps(f64::NAN), &m), None);
    }

    fn item(id: &str) -> SceneItem {
        SceneItem {
            reference_id: id.into(),
            location: format!("{id}.jpg"),
            metadata: BTreeMap::new(),
        }
    }

    #[test]
    fn add_replace_keep_and_cap() {
        let mut s = VideoScene::new("clip", Some(Rational::new(30, 1))).with_cap(2);
        assert_eq!(s.add_item(0, item("a"), false).unwrap(), AddOutcome::Added);
        assert_eq!(s.add_item(7, item("b"), false).unwrap(), AddOutcome::Added);
        let mut b2 = item("b");
        b2.location = "new.jpg".into();
        assert_eq!(s.add_item(1, b2.clone(), false).unwrap(), AddOutcome::Kept);
        assert_eq!(s.items[1].location, "b.jpg");
        assert_eq!(s.add_item(1, b2, true).unwrap(), AddOutcome::Replaced);
        assert_eq!(s.items[1].location, "new.jpg");
        let e = s.add_item(2, item("c"), false).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LimitExceeded {
                    limit: 2,
                    actual: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            matches!(
                s.add_item(0, item("b"), true),
                Err(Error::InvalidOption { .. })
            ),
            "duplicate reference id"
        );
    }

    #[test]
    fn update_overwrites_metadata_by_reference_id_and_appends_new_items() {
        let mut stored = VideoScene::new("s", Some(Rational::new(30, 1)));
        stored.metadata.insert("v".into(), 1.into());
        stored.add_item(0, item("a"), false).unwrap();
        stored.add_item(1, item("b"), false).unwrap();
        let mut newer = VideoScene::new("s", None).with_cap(3);
        newer.metadata.insert("v".into(), 2.into());
        let mut b = item("b");
        b.location = "elsewhere.jpg".into();
        b.metadata.insert("label".into(), "cat".into());
        newer.items = vec![b, item("c")];
        assert_eq!(stored.update_from(&newer).unwrap(), 1);
        assert_eq!(stored.metadata["v"], 2);
        assert_eq!(stored.frame_rate, Some(Rational::new(30, 1)));
        let ids: Vec<&str> = stored
            .items
            .iter()
            .map(|i| i.reference_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(stored.items[1].metadata["label"], "cat");
        assert_eq!(
            stored.items[1].location, "b.jpg",
            "only metadata is updated"
        );
        assert!(stored.items[0].metadata.is_empty());
        // Past the cap: an error, and nothing changed.
        let before = stored.clone();
        newer.items = vec![item("d")];
        assert!(matches!(
            stored.update_from(&newer),
            Err(Error::LimitExceeded { limit: 3, .. })
        ));
        assert_eq!(stored, before);
    }

    #[test]
    fn update_keeps_a_video_scene_in_frame_order() {
        let rec = |index: u64| record(index, 25.0, &format!("v_{index:06}.jpg"));
        let every = |step: usize| -> Vec<FrameRecord> { (0..20).step_by(step).map(rec).collect() };
        let mut stored = VideoScene::from_records("v", None, &every(10)).unwrap();
        let denser = VideoScene::from_records("v", None, &every(5)).unwrap();
        assert_eq!(stored.update_from(&denser).unwrap(), 2);
        let order: Vec<u64> = stored
            .items
            .iter()
            .map(|i| i.metadata["frame_index"].as_u64().unwrap())
            .collect();
        assert_eq!(order, [0, 5, 10, 15]);
        // Items without a frame index: appended where they come.
        let mut plain = VideoScene::new("p", None);
        plain.add_item(0, item("z"), false).unwrap();
        let mut newer = VideoScene::new("p", None);
        newer.items = vec![item("a")];
        plain.update_from(&newer).unwrap();
        let ids: Vec<&str> = plain
            .items
            .iter()
            .map(|i| i.reference_id.as_str())
            .collect();
        assert_eq!(ids, ["z", "a"]);
    }

    #[test]
    fn validate_catches_direct_edits() {
        let mut s = VideoScene::new("s", None).with_cap(2);
        s.items = vec![item("a"), item("a")];
        assert!(matches!(s.validate(), Err(Error::InvalidOption { .. })));
        s.items = vec![item("a"), item("b"), item("c")];
        assert!(matches!(s.validate(), Err(Error::LimitExceeded { .. })));
        s.items.pop();
        s.validate().unwrap();
    }

    #[test]
    fn from_manifest_carries_sample_info() {
        let mut m = VideoManifest::new(crate::VideoMetadata::new("/v/clip.mp4"));
        m.sample_info.insert("dataset".into(), "d".into());
        m.frames = vec![FrameRecord {
            index: 5,
            pts_seconds: 0.2,
            key: "clip_000005.jpg".into(),
            width: 1,
            height: 1,
            bytes: 1,
            content_hash: None,
            annotation_key: None,
            framemd5: None,
        }];
        let s = VideoScene::from_manifest("clip", None, &m).unwrap();
        assert_eq!(s.metadata["dataset"], "d");
        assert_eq!(s.metadata["source_location"], "/v/clip.mp4");
        assert_eq!(s.items[0].reference_id, "clip_000005");
    }

    #[test]
    fn from_records_orders_by_index() {
        let rec = |index: u64| record(index, 30.0, &format!("f/clip_{index:06}.jpg"));
        let s = VideoScene::from_records("clip", None, &[rec(60), rec(0), rec(30)]).unwrap();
        let ids: Vec<&str> = s.items.iter().map(|i| i.reference_id.as_str()).collect();
        assert_eq!(ids, ["clip_000000", "clip_000030", "clip_000060"]);
        assert_eq!(s.items[2].location, "f/clip_000060.jpg");
        assert_eq!(s.items[1].metadata["frame_index"], 30);
        assert_eq!(s.cap(), DEFAULT_SCENE_CAP);
        let many: Vec<FrameRecord> = (0..3001).map(rec).collect();
        assert!(matches!(
            VideoScene::from_records("big", None, &many),
            Err(Error::LimitExceeded { limit: 3000, .. })
        ));
    }
}
