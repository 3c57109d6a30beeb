//! Report files in S3: uploads streamed from local files, and presigned download links. [`Files`] implements the
//! [`reports::FileStore`] port.
//!
//! The bucket is given (terraform names it and hands it to functions as `NIAGA_EXPORTS_BUCKET`). Against a local
//! emulator the client addresses buckets by path (`<endpoint>/<bucket>/<key>`), which moto serves.

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("reading {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("S3 refused {op} of {key}: {cause}")]
    S3 {
        op: &'static str,
        key: String,
        cause: String,
    },
}

/// One bucket.
#[derive(Debug, Clone)]
pub struct Files {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Files {
    pub fn new(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        // Path-style addressing only against an explicit endpoint (the emulator); AWS takes virtual hosts.
        let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some() || sdk.endpoint_url().is_some();
        let config = aws_sdk_s3::config::Builder::from(&crate::timeouts::Budget::TRANSFER.apply(sdk))
            .force_path_style(path_style)
            .build();
        Files {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Uploads the file at `path` as `key`, streamed from disk.
    pub async fn upload(&self, key: &str, path: &Path, content_type: &str) -> Result<(), FilesError> {
        let body = ByteStream::from_path(path).await.map_err(|e| FilesError::Read {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| FilesError::S3 {
                op: "PutObject",
                key: key.to_string(),
                cause: crate::error_chain(&e),
            })?;
        Ok(())
    }

    /// A link that downloads `key` for `valid_for`, with `filename` as the saved name.
    pub async fn download_link(&self, key: &str, filename: &str, valid_for: Duration) -> Result<String, FilesError> {
        let config = PresigningConfig::expires_in(valid_for).map_err(|e| FilesError::S3 {
            op: "presigning",
            key: key.to_string(),
            cause: e.to_string(),
        })?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(config)
            .await
            .map_err(|e| FilesError::S3 {
                op: "presigning GetObject",
                key: key.to_string(),
                cause: crate::error_chain(&e),
            })?;
        Ok(req.uri().to_string())
    }
}

impl reports::FileStore for Files {
    async fn upload(&self, key: &str, path: &Path, content_type: &str) -> anyhow::Result<()> {
        Ok(Files::upload(self, key, path, content_type).await?)
    }

    async fn download_link(&self, key: &str, filename: &str, valid_for: Duration) -> anyhow::Result<String> {
        Ok(Files::download_link(self, key, filename, valid_for).await?)
    }
}
