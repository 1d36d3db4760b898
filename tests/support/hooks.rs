//! A runtime and a revision directory for tests that call hooks directly, as the executor would.

use std::sync::Arc;

use wasmig::backend::Backend;
use wasmig::runtime::{HookContext, HookError, Module, Runtime, RuntimeConfig, SandboxLimits};

use crate::Fixture;

/// A runtime with its own cache, and a revision directory holding `marker.txt`.
#[derive(Debug)]
pub struct HookScene {
    pub dir: tempfile::TempDir,
    pub runtime: Runtime,
}

impl Default for HookScene {
    fn default() -> Self {
        Self::new()
    }
}

impl HookScene {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime =
            Runtime::new(RuntimeConfig { cache_dir: Some(dir.path().join("cache")), ..RuntimeConfig::default() })
                .unwrap();
        let revision = dir.path().join("revision");
        std::fs::create_dir(&revision).unwrap();
        std::fs::write(revision.join("marker.txt"), "from an asset\n").unwrap();
        HookScene { dir, runtime }
    }

    /// The context of revision `a1b2c3d4e5f6` of tenant `acme`.
    pub fn context(&self, limits: SandboxLimits) -> HookContext {
        HookContext {
            revision_id: "a1b2c3d4e5f6".into(),
            tenant: Some("acme".into()),
            assets_dir: Some(self.dir.path().join("revision")),
            limits,
            protected_tables: Vec::new(),
            role: None,
            capabilities: Default::default(),
        }
    }

    pub fn load(&self, fixture: Fixture) -> Arc<Module> {
        self.runtime.load(&fixture.bytes(), fixture.dir_name()).unwrap()
    }

    /// Runs `up` the way the executor does: in a transaction that commits on
    /// success and rolls back on any error. Returns the guest's log lines.
    pub fn up_in_transaction(
        &self,
        db: &mut Box<dyn Backend>,
        module: &Module,
        limits: SandboxLimits,
    ) -> Result<Vec<String>, HookError> {
        db.begin().unwrap();
        match self.runtime.up(module, &self.context(limits), db) {
            Ok(outcome) => {
                db.commit().unwrap();
                Ok(outcome.logs.into_iter().map(|log| log.message).collect())
            }
            Err(error) => {
                db.rollback().unwrap();
                Err(error)
            }
        }
    }
}
