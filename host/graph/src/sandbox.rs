//! `[sandbox]` in `wasmig.toml`: the limits of a hook call, the statement classes the project
//! trusts its revisions with (`capabilities`), and the PostgreSQL role template (`role`).

use serde::{Deserialize, Serialize};
use wasmig_sqlguard::Capabilities;

/// Sandbox limits as written; the runtime interprets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// The time the revision's own code may run in one hook call, not counting the time its
    /// statements spend in the database: catches a loop.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The wall-clock time one hook call may take, its statements included; unset: no limit
    /// (a long index build or backfill is normal). A platform running untrusted revisions sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_timeout_ms: Option<u64>,
    pub max_tables: Option<u64>,
    pub max_instances: Option<u64>,
    /// Moved to `[database] migration_lock_timeout_ms`: read only to refuse
    /// it with a message naming the new key.
    #[serde(default, skip_serializing)]
    pub lock_timeout_ms: Option<u64>,
    /// Statement classes the transaction guard lets revisions use (`capabilities =
    /// ["server-files"]`); each use is recorded. Unknown names are refused when the file is
    /// read, pointing at the line.
    #[serde(default, with = "capability_names", skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: Capabilities,
    /// PostgreSQL: the role the revisions' statements run as (`role = "tenant_{tenant}"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleTemplate>,
    /// PostgreSQL: connect as `role` itself (a login role per tenant), so that no statement
    /// can leave it: `RESET ROLE` returns to the same role.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub login: bool,
}

fn default_memory_mb() -> u64 {
    256
}
fn default_timeout_ms() -> u64 {
    30_000
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            memory_mb: default_memory_mb(),
            timeout_ms: default_timeout_ms(),
            sql_timeout_ms: None,
            max_tables: None,
            max_instances: None,
            lock_timeout_ms: None,
            capabilities: Capabilities::none(),
            role: None,
            login: false,
        }
    }
}

impl SandboxConfig {
    /// The user a connection for `tenant` logs in as: `role` when `login = true`, else the
    /// URL's own. `None` for a single-database run whose role needs a tenant: such a run is
    /// refused later, when its role is asked for.
    pub fn login_for(&self, tenant: Option<&str>) -> Result<Option<String>, RoleError> {
        match &self.role {
            Some(template) if self.login && (tenant.is_some() || !template.per_tenant()) => {
                template.role_for(tenant).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// `capabilities` as a list of names (`"server-files"`), checked with the guard's own parser.
mod capability_names {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use wasmig_sqlguard::{Capabilities, Capability};

    pub(super) fn serialize<S: Serializer>(capabilities: &Capabilities, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(capabilities.iter().map(Capability::name))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Capabilities, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|name| name.parse::<Capability>().map_err(D::Error::custom))
            .collect()
    }
}

/// The placeholder a role template may hold.
pub const TENANT_PLACEHOLDER: &str = "{tenant}";

/// PostgreSQL truncates longer names silently, which could give two tenants one role.
const MAX_ROLE_BYTES: usize = 63;

/// Role names PostgreSQL reads as something else (`SET ROLE none` is `RESET ROLE`).
const SPECIAL_ROLE_NAMES: [&str; 8] =
    ["public", "none", "current_user", "current_role", "session_user", "user", "default", "all"];

/// The tenant name a template is checked with when `wasmig.toml` is read.
const SAMPLE_TENANT: &str = "t";

/// `[sandbox] role`: a PostgreSQL role name, in which `{tenant}` stands for the tenant's name.
/// Checked when `wasmig.toml` is read: with a plain tenant name in place of `{tenant}`, it must
/// be a plain role name ([`valid_role_name`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleTemplate(String);

/// Why a role template or the role it gives for a tenant is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// The template itself is malformed.
    #[error(
        "[sandbox] role `{template}`: {reason}; write a plain PostgreSQL role name (lowercase letters, \
         digits and `_`, not starting with a digit or `pg_`, at most 63 bytes) in which {{tenant}} may \
         stand for the tenant's name, e.g. \"tenant_{{tenant}}\""
    )]
    BadTemplate { template: String, reason: &'static str },
    /// The template names `{tenant}` but the run has no tenant.
    #[error(
        "[sandbox] role `{template}` needs a tenant (it holds {{tenant}}), but this run migrates a single \
         database; run it as a tenant (`wasmig tenants ...`) or write a fixed role"
    )]
    NoTenant { template: String },
    /// The role a tenant's name gives is not a plain role name.
    #[error(
        "tenant `{tenant}` gives role `{role}`, which is not a plain PostgreSQL role name (lowercase \
         letters, digits and `_`, not starting with a digit or `pg_`, at most 63 bytes); rename the \
         tenant or change [sandbox] role in wasmig.toml"
    )]
    BadRole { tenant: String, role: String },
}

/// Whether `name` is a role name the host can use as is: 1 to 63 bytes of lowercase ASCII
/// letters, digits and `_`, not starting with a digit, not a reserved `pg_` role
/// (`pg_read_server_files`, ...) and not a name PostgreSQL reads specially (`none`, `public`,
/// `current_user`, ...).
pub fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROLE_BYTES
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && !name.starts_with("pg_")
        && !SPECIAL_ROLE_NAMES.contains(&name)
}

impl RoleTemplate {
    /// Checks `template` (see [`RoleTemplate`]).
    pub fn parse(template: &str) -> Result<Self, RoleError> {
        let bad = |reason| Err(RoleError::BadTemplate { template: template.to_owned(), reason });
        let without_placeholder = template.replace(TENANT_PLACEHOLDER, "");
        if without_placeholder.contains(['{', '}']) {
            return bad("the only placeholder is {tenant}");
        }
        if !valid_role_name(&template.replace(TENANT_PLACEHOLDER, SAMPLE_TENANT)) {
            return bad("it is not a plain role name");
        }
        Ok(RoleTemplate(template.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the role depends on the tenant.
    pub fn per_tenant(&self) -> bool {
        self.0.contains(TENANT_PLACEHOLDER)
    }

    /// The role for `tenant` (`None` for a single-database run): the template with `{tenant}`
    /// replaced, refused unless the tenant's name is not empty and the result is a plain role
    /// name. Tenant names are not folded: `Acme` gives no role rather than the same one as
    /// `acme`.
    pub fn role_for(&self, tenant: Option<&str>) -> Result<String, RoleError> {
        if !self.per_tenant() {
            return Ok(self.0.clone());
        }
        let Some(tenant) = tenant else {
            return Err(RoleError::NoTenant { template: self.0.clone() });
        };
        let role = self.0.replace(TENANT_PLACEHOLDER, tenant);
        if !tenant.is_empty() && valid_role_name(&role) {
            Ok(role)
        } else {
            Err(RoleError::BadRole { tenant: tenant.to_owned(), role })
        }
    }
}

impl TryFrom<String> for RoleTemplate {
    type Error = RoleError;

    fn try_from(template: String) -> Result<Self, Self::Error> {
        RoleTemplate::parse(&template)
    }
}

impl From<RoleTemplate> for String {
    fn from(template: RoleTemplate) -> Self {
        template.0
    }
}

#[cfg(test)]
mod tests {
    use wasmig_sqlguard::Capability;

    use super::*;

    fn sandbox(toml_text: &str) -> Result<SandboxConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn capabilities_are_read_by_name_and_unknown_names_point_at_the_line() {
        let config = sandbox("capabilities = [\"server-files\", \"roles\", \"server-files\"]").unwrap();
        assert!(config.capabilities.allows(Capability::ServerFiles) && config.capabilities.allows(Capability::Roles));
        assert_eq!(config.capabilities.iter().count(), 2);
        assert!(sandbox("").unwrap().capabilities.is_empty());

        let error = sandbox("memory_mb = 1\ncapabilities = [\"programs\", \"superuser\"]").unwrap_err().to_string();
        assert!(error.contains("`superuser` is not a capability"), "{error}");
        assert!(error.contains("server-files, programs"), "{error}");
        assert!(error.contains("line 2"), "{error}");
        assert!(sandbox("capabilities = \"server-files\"").is_err());
    }

    #[test]
    fn capabilities_round_trip_through_toml() {
        let config = sandbox("capabilities = [\"extensions\", \"programs\"]").unwrap();
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("capabilities = [\"programs\", \"extensions\"]"), "{text}");
        assert_eq!(sandbox(&text).unwrap(), config);
        assert!(!toml::to_string(&SandboxConfig::default()).unwrap().contains("capabilities"));
    }

    #[test]
    fn the_login_is_the_tenant_role_only_when_asked_for() {
        let config = sandbox("role = \"tenant_{tenant}\"").unwrap();
        assert_eq!(config.login_for(Some("acme")), Ok(None), "without login the URL's user logs in");
        let config = sandbox("role = \"tenant_{tenant}\"\nlogin = true").unwrap();
        assert_eq!(config.login_for(Some("acme")), Ok(Some("tenant_acme".to_owned())));
        assert_eq!(config.login_for(None), Ok(None), "the run itself refuses a tenant role without a tenant");
        assert!(matches!(config.login_for(Some("Acme")), Err(RoleError::BadRole { .. })));
        let fixed = sandbox("role = \"migrator\"\nlogin = true").unwrap();
        assert_eq!(fixed.login_for(None), Ok(Some("migrator".to_owned())));
    }

    #[test]
    fn role_templates_are_checked_when_read() {
        let config = sandbox("role = \"tenant_{tenant}\"").unwrap();
        assert_eq!(config.role.as_ref().map(RoleTemplate::as_str), Some("tenant_{tenant}"));
        assert_eq!(sandbox("role = \"migrator\"").unwrap().role.unwrap().role_for(None).unwrap(), "migrator");
        for bad in [
            "",
            "Tenant_{tenant}",
            "tenant-{tenant}",
            "{tenant}-x",
            "tenant_{name}",
            "tenant_{tenant",
            "\\\"x\\\"; DROP ROLE y; --",
            "pg_{tenant}",
            "pg_read_server_files",
            "none",
            "9_{tenant}",
        ] {
            let error = sandbox(&format!("role = \"{bad}\"")).unwrap_err().to_string();
            assert!(error.contains("[sandbox] role"), "{bad:?}: {error}");
        }
        let long = format!("{}_{{tenant}}", "a".repeat(62));
        assert!(sandbox(&format!("role = \"{long}\"")).is_err(), "63 bytes with the shortest tenant");
    }

    #[test]
    fn a_tenant_role_is_a_plain_name_or_refused() {
        let template = RoleTemplate::parse("tenant_{tenant}").unwrap();
        assert!(template.per_tenant());
        assert_eq!(template.role_for(Some("acme_2")).unwrap(), "tenant_acme_2");
        assert!(matches!(template.role_for(None), Err(RoleError::NoTenant { .. })));
        for tenant in ["Acme", "acme-corp", "a b", "x\"; RESET ROLE; --", "", &"a".repeat(60), "é"] {
            let error = template.role_for(Some(tenant)).unwrap_err();
            assert!(matches!(&error, RoleError::BadRole { tenant: t, .. } if t == tenant), "{tenant:?}: {error:?}");
        }
        // A template whose tenant part could complete a reserved name still refuses it.
        let template = RoleTemplate::parse("{tenant}").unwrap();
        for tenant in ["pg_read_server_files", "none", "public", "current_user"] {
            assert!(template.role_for(Some(tenant)).is_err(), "{tenant}");
        }
        assert_eq!(template.role_for(Some("acme")).unwrap(), "acme");
    }
}
