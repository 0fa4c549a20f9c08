//! Scenes appended to a dataset: one JSON object per scene under
//! `{prefix}/.video-dataset/scenes/{reference_id}.json` ([`layout::scene_key`]).

use futures::TryStreamExt;
use object_store::{ObjectStore, PutMode, PutPayload};
use video_core::layout::{self, SCENE_FORMAT, SCENE_FORMAT_VERSION, SCENES_DIR};
use video_core::{Error, Result, VideoScene};

use crate::ObjectStoreSink;
use crate::sink::{backend, json_error};

/// What [`ObjectStoreSink::append_scenes`] did, by scene reference id (in the order given).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct AppendReport {
    /// Scenes the dataset did not have: stored as given.
    pub added: Vec<String>,
    /// Scenes the dataset had, with `update` set: their metadata was overwritten.
    pub updated: Vec<String>,
    /// Scenes the dataset had, without `update`: left untouched.
    pub kept: Vec<String>,
}

#[derive(serde::Serialize)]
struct SceneOut<'a> {
    format: &'static str,
    format_version: u32,
    #[serde(flatten)]
    scene: &'a VideoScene,
}

fn scene_key(reference_id: &str) -> Result<String> {
    layout::check_id(reference_id, "a scene reference id")?;
    Ok(layout::scene_key(reference_id))
}

fn encode(key: &str, scene: &VideoScene) -> Result<PutPayload> {
    let doc = SceneOut {
        format: SCENE_FORMAT,
        format_version: SCENE_FORMAT_VERSION,
        scene,
    };
    serde_json::to_vec_pretty(&doc)
        .map(PutPayload::from)
        .map_err(|e| json_error(key, e))
}

/// A stored scene document.
fn parse_scene(key: &str, bytes: &[u8]) -> Result<VideoScene> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(key, e))?;
    layout::check_format(key, "scene", &doc, SCENE_FORMAT, SCENE_FORMAT_VERSION)?;
    serde_json::from_value(doc).map_err(|e| json_error(key, e))
}

impl ObjectStoreSink {
    /// Append scenes to the dataset (Scale Nucleus' `append` with `update`).
    ///
    /// A scene whose reference id the dataset does not have is stored as given. One it has is
    /// left untouched when `update` is false; when `update` is true the stored scene gets the
    /// new scene's metadata, each stored item the new item metadata of the same item reference
    /// id, and items with new reference ids are appended (see [`VideoScene::update_from`]); item
    /// order, locations and the frame rate stay.
    ///
    /// Every scene is checked before anything is written (reference ids usable as one path
    /// segment and unique in the call, item reference ids unique, at most the scene's cap of
    /// items), so a bad call writes nothing. Each scene is written in one atomic `put`; a new
    /// scene is created only if absent (object_store's `PutMode::Create`), so two concurrent
    /// appends of the same new scene store one of them and report the other as existing.
    /// Concurrent updates of one scene all apply: each is a read-modify-write that no other
    /// writer can undo ([`update_dataset_file`](ObjectStoreSink::update_dataset_file)).
    ///
    /// Layout: `{prefix}/.video-dataset/scenes/{reference_id}.json`, a JSON object with
    /// `"format": "video-dataset/scene"`, `"format_version"` ([`SCENE_FORMAT_VERSION`], see
    /// [`video_core::layout`]) and the
    /// scene's fields (`reference_id`, `frame_rate`, `items`, `metadata`).
    ///
    /// # Errors
    /// [`Error::InvalidPath`], [`Error::InvalidOption`] or [`Error::LimitExceeded`] naming the scene
    /// before any write; store errors name the key. Scenes before a failed one stay appended.
    pub async fn append_scenes(&self, scenes: &[VideoScene], update: bool) -> Result<AppendReport> {
        let mut keys = Vec::with_capacity(scenes.len());
        let mut seen = std::collections::BTreeSet::new();
        for scene in scenes {
            keys.push(scene_key(&scene.reference_id)?);
            scene.validate()?;
            if !seen.insert(scene.reference_id.as_str()) {
                return Err(Error::InvalidOption {
                    option: "scenes".into(),
                    reason: format!(
                        "scene reference id {:?} appears twice in one append",
                        scene.reference_id
                    ),
                });
            }
        }
        let mut report = AppendReport::default();
        for (scene, key) in scenes.iter().zip(&keys) {
            let path = self.path(key);
            let created = self
                .store()
                .put_opts(&path, encode(key, scene)?, PutMode::Create.into())
                .await;
            match created {
                Ok(_) => {
                    report.added.push(scene.reference_id.clone());
                    continue;
                }
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(backend(key, e)),
            }
            if !update {
                report.kept.push(scene.reference_id.clone());
                continue;
            }
            // Read, update and write back only if no other writer replaced the scene meanwhile.
            self.update_dataset_file(key, |current| {
                let bytes = current.ok_or_else(|| Error::NotFound {
                    uri: key.clone(),
                    source: None,
                })?;
                let mut stored = parse_scene(key, bytes)?;
                stored.update_from(scene)?;
                Ok(encode(key, &stored)?.into_iter().flatten().collect())
            })
            .await?;
            report.updated.push(scene.reference_id.clone());
        }
        Ok(report)
    }

    /// The scene with this reference id, `None` if the dataset has none.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] for a reference id that cannot be a key; [`Error::Unsupported`]
    /// naming the key for a scene of another format or version.
    pub async fn scene(&self, reference_id: &str) -> Result<Option<VideoScene>> {
        self.read_scene(&scene_key(reference_id)?).await
    }

    async fn read_scene(&self, key: &str) -> Result<Option<VideoScene>> {
        let bytes = match self.read(key).await {
            Ok(b) => b,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        parse_scene(key, &bytes).map(Some)
    }

    /// Reference ids of the dataset's scenes, sorted.
    pub async fn scenes(&self) -> Result<Vec<String>> {
        let dir = self.path(SCENES_DIR);
        let listed: Vec<object_store::ObjectMeta> = self
            .store()
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| backend(SCENES_DIR, e))?;
        let mut ids: Vec<String> = listed
            .iter()
            .filter_map(|m| {
                let name = layout::scene_id(m.location.filename()?)?;
                // Path parts keep some characters percent-encoded.
                percent_encoding::percent_decode_str(name)
                    .decode_utf8()
                    .ok()
                    .map(|s| s.into_owned())
            })
            .collect();
        ids.sort();
        Ok(ids)
    }
}
