//! The Terraform in `terraform/`, parsed with an HCL parser and checked for what can drift
//! from the code: the job's arguments and variables must be ones `mouvements-gen` accepts,
//! the task count must be a variable, and the bucket's rules and least-privilege binding must
//! stay in place.

mod common;

use std::path::PathBuf;

use common::mouvements_gen;
use hcl::{Block, Body, Expression};

fn terraform(file: &str) -> Body {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../terraform").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blocks<'a>(body: &'a Body, identifier: &str) -> impl Iterator<Item = &'a Block> {
    let identifier = identifier.to_owned();
    body.blocks().filter(move |b| b.identifier() == identifier)
}

fn resource<'a>(body: &'a Body, kind: &str, name: &str) -> &'a Block {
    blocks(body, "resource")
        .find(|b| b.labels().iter().map(hcl::BlockLabel::as_str).eq([kind, name]))
        .unwrap_or_else(|| panic!("resource {kind}.{name} is missing"))
}

fn attribute<'a>(body: &'a Body, key: &str) -> &'a Expression {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map_or_else(|| panic!("no attribute {key}"), |a| &a.expr)
}

fn block<'a>(body: &'a Body, identifier: &str) -> &'a Block {
    blocks(body, identifier).next().unwrap_or_else(|| panic!("no {identifier} block"))
}

/// The job's container block.
fn container(main: &Body) -> Body {
    let job = resource(main, "google_cloud_run_v2_job", "generate");
    let task_template = block(&block(&job.body, "template").body, "template");
    block(&task_template.body, "containers").body.clone()
}

/// The strings of an array, each `${var.write_mode}` in them replaced by `write_mode`.
fn strings_with(expr: &Expression, write_mode: &str) -> Vec<String> {
    match expr {
        Expression::Array(items) => items
            .iter()
            .map(|e| match e {
                Expression::String(s) => s.clone(),
                Expression::TemplateExpr(t) => t.to_string().replace("${var.write_mode}", write_mode),
                other => panic!("expected a string, found {other}"),
            })
            .collect(),
        other => panic!("expected an array of strings, found {other}"),
    }
}

fn strings(expr: &Expression) -> Vec<String> {
    strings_with(expr, "")
}

/// The values a variable's validation allows, from its `contains([...], var.x)` condition.
fn allowed_values(name: &str) -> Vec<String> {
    let variables = terraform("variables.tf");
    let variable = blocks(&variables, "variable")
        .find(|b| b.labels().first().is_some_and(|l| l.as_str() == name))
        .unwrap_or_else(|| panic!("variable {name} is missing"));
    let Expression::FuncCall(call) = attribute(&block(&variable.body, "validation").body, "condition") else {
        panic!("{name}'s validation should be contains([...], var.{name})");
    };
    strings(&call.args[0])
}

/// The default of a variable in `variables.tf`.
fn default_of(name: &str) -> Expression {
    let variables = terraform("variables.tf");
    let variable = blocks(&variables, "variable")
        .find(|b| b.labels().first().is_some_and(|l| l.as_str() == name))
        .unwrap_or_else(|| panic!("variable {name} is missing"));
    attribute(&variable.body, "default").clone()
}

/// The `concat([...], var.x)` calls of `local.job_args` (`merge({generate = …}, cond ? {} :
/// {append = …})`), by job.
fn job_args(main: &Body) -> Vec<(String, hcl::expr::FuncCall)> {
    let locals = block(main, "locals");
    let Expression::FuncCall(merge) = attribute(&locals.body, "job_args") else {
        panic!("job_args should be merge({{generate = concat(...)}}, ...)");
    };
    let mut jobs = Vec::new();
    for part in &merge.args {
        let object = match part {
            Expression::Object(object) => object.clone(),
            Expression::Conditional(cond) => match &cond.false_expr {
                Expression::Object(object) => object.clone(),
                other => panic!("expected {{append = concat(...)}}, found {other}"),
            },
            other => panic!("expected an object, found {other}"),
        };
        for (key, value) in object {
            let Expression::FuncCall(call) = value else { panic!("{key} should be concat(...)") };
            jobs.push((key.to_string(), *call));
        }
    }
    jobs
}

#[test]
fn the_append_job_runs_on_schedule_with_its_own_least_privilege_identity() {
    let main = terraform("main.tf");
    let jobs = job_args(&main);
    let (_, append) = jobs.iter().find(|(k, _)| k == "append").expect("an append job");
    assert!(strings(&append.args[0]).contains(&"--append".to_owned()));
    assert_eq!(append.args[1].to_string(), "var.append_args");
    let mut args = strings(&append.args[0]);
    args.extend(strings(&default_of("append_args")));
    let output = mouvements_gen().arg("config").args(&args[1..]).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|l| l.starts_with("append") && l.contains("true"))
    );

    // Off by default: no schedule, no job, no identity.
    assert_eq!(default_of("append_schedule"), Expression::String(String::new()));
    for (kind, name) in [
        ("google_cloud_scheduler_job", "append"),
        ("google_service_account", "scheduler"),
        ("google_cloud_run_v2_job_iam_member", "scheduler_runs_append"),
    ] {
        let count = attribute(&resource(&main, kind, name).body, "count").to_string();
        assert!(count.contains("var.append_schedule == \"\""), "{kind}.{name}: {count}");
    }
    let scheduler = &resource(&main, "google_cloud_scheduler_job", "append").body;
    assert_eq!(attribute(scheduler, "schedule").to_string(), "var.append_schedule");
    let target = &block(scheduler, "http_target").body;
    let uri = attribute(target, "uri").to_string();
    assert!(
        uri.contains("run.googleapis.com/v2/")
            && uri.contains("generate[\"append\"].name")
            && uri.contains(":run"),
        "{uri}"
    );
    let token = &block(target, "oauth_token").body;
    assert_eq!(
        attribute(token, "service_account_email").to_string(),
        "google_service_account.scheduler[0].email"
    );
    // It may run the append job and nothing else: run.invoker on that job only.
    let grant = &resource(&main, "google_cloud_run_v2_job_iam_member", "scheduler_runs_append").body;
    assert_eq!(attribute(grant, "role"), &Expression::String("roles/run.invoker".into()));
    assert_eq!(attribute(grant, "name").to_string(), "google_cloud_run_v2_job.generate[\"append\"].name");
    let bucket_grants = blocks(&main, "resource")
        .filter(|b| b.labels()[0].as_str() == "google_storage_bucket_iam_member")
        .map(|b| attribute(&b.body, "member").to_string())
        .collect::<Vec<_>>();
    assert!(bucket_grants.iter().all(|m| !m.contains("scheduler")), "{bucket_grants:?}");
}

#[test]
fn the_job_arguments_are_accepted_by_the_cli() {
    let main = terraform("main.tf");
    assert_eq!(attribute(&container(&main), "args").to_string(), "each.value");
    let jobs = job_args(&main);
    let (_, call) = jobs.iter().find(|(k, _)| k == "generate").expect("the generate job");
    assert_eq!(call.name.to_string(), "concat");
    assert_eq!(call.args[1].to_string(), "var.generate_args");
    let example = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../terraform/terraform.tfvars.example"),
    )
    .unwrap();
    let example = hcl::parse(&example).unwrap();
    let modes = allowed_values("write_mode");
    assert_eq!(modes, ["resume", "overwrite"]);
    let Expression::String(example_mode) = attribute(&example, "write_mode") else {
        panic!("write_mode is a string")
    };
    assert!(modes.contains(example_mode));
    for mode in &modes {
        for extra in [strings(&default_of("generate_args")), strings(attribute(&example, "generate_args"))] {
            let mut args = strings_with(&call.args[0], mode);
            args.extend(extra);
            assert_eq!(args[0], "generate");
            // `config` takes exactly generate's flags and resolves them without writing anything.
            let output = mouvements_gen().arg("config").args(&args[1..]).output().unwrap();
            assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(text.lines().any(|l| l.starts_with("mode") && l.contains(mode.as_str())), "{text}");
        }
    }
}

#[test]
fn the_provider_version_has_deletion_protection_and_the_bucket_is_never_public() {
    let main = terraform("main.tf");
    let terraform_block = block(&main, "terraform");
    let providers = block(&terraform_block.body, "required_providers");
    let google = attribute(&providers.body, "google").to_string();
    assert!(google.contains(">= 6.0, < 8.0"), "{google}");
    let bucket = &resource(&main, "google_storage_bucket", "lake").body;
    assert_eq!(attribute(bucket, "public_access_prevention"), &Expression::String("enforced".into()));
    // No folder marker under tmp/: its own lifecycle rule would delete it, and every apply recreate it.
    let stages = &resource(&main, "google_storage_bucket_object", "stages").body;
    assert!(!attribute(stages, "for_each").to_string().contains("tmp"));
}

#[test]
fn databricks_reads_the_bucket_only_when_asked() {
    let main = terraform("main.tf");
    let binding = &resource(&main, "google_storage_bucket_iam_member", "databricks_read").body;
    assert_eq!(attribute(binding, "bucket").to_string(), "google_storage_bucket.lake.name");
    let roles = attribute(binding, "for_each").to_string();
    assert!(
        roles.contains("roles/storage.objectViewer") && roles.contains("roles/storage.legacyBucketReader")
    );
    assert!(roles.contains("var.databricks_service_account == \"\""), "{roles}");
    assert_eq!(default_of("databricks_service_account"), Expression::String(String::new()));
}

#[test]
fn the_job_environment_is_read_by_the_cli() {
    let main = terraform("main.tf");
    let names: Vec<String> = blocks(&container(&main), "env")
        .map(|env| match attribute(&env.body, "name") {
            Expression::String(name) => name.clone(),
            other => panic!("env name should be a literal, found {other}"),
        })
        .collect();
    assert!(names.contains(&"GCS_BUCKET_BASE".to_owned()), "{names:?}");
    let mut cmd = mouvements_gen();
    cmd.arg("config");
    for name in &names {
        cmd.env(name, format!("gs://value-of-{}", name.to_lowercase().replace('_', "-")));
    }
    let output = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    for name in &names {
        assert!(text.contains(&format!("env {name}")), "the CLI does not read {name}:\n{text}");
    }
}

#[test]
fn task_count_and_parallelism_are_variables() {
    let main = terraform("main.tf");
    let job = resource(&main, "google_cloud_run_v2_job", "generate");
    let template = &block(&job.body, "template").body;
    assert_eq!(attribute(template, "task_count").to_string(), "var.task_count");
    assert_eq!(attribute(template, "parallelism").to_string(), "var.parallelism");
}

#[test]
fn the_bucket_has_its_lifecycle_rules_and_settings() {
    let main = terraform("main.tf");
    let bucket = &resource(&main, "google_storage_bucket", "lake").body;
    assert_eq!(attribute(bucket, "uniform_bucket_level_access"), &Expression::Bool(true));
    assert_eq!(attribute(&block(bucket, "versioning").body, "enabled"), &Expression::Bool(false));
    let rules: Vec<(String, String, String)> = blocks(bucket, "lifecycle_rule")
        .map(|rule| {
            let condition = &block(&rule.body, "condition").body;
            let action = &block(&rule.body, "action").body;
            let prefix = condition.attributes().find(|a| a.key.as_str() == "matches_prefix");
            (
                attribute(action, "type").to_string(),
                prefix.map(|a| a.expr.to_string()).unwrap_or_default(),
                attribute(condition, "age").to_string(),
            )
        })
        .collect();
    assert!(
        rules.iter().any(|(a, p, age)| a.contains("Delete")
            && p.contains("/tmp/")
            && age == "var.tmp_retention_days"),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|(a, p, age)| a.contains("SetStorageClass")
            && p.contains("/raw/")
            && age == "var.raw_cold_after_days"),
        "{rules:?}"
    );
}

#[test]
fn unfinished_multipart_uploads_are_aborted_by_the_bucket() {
    let main = terraform("main.tf");
    let bucket = &resource(&main, "google_storage_bucket", "lake").body;
    let aborts = blocks(bucket, "lifecycle_rule").any(|rule| {
        attribute(&block(&rule.body, "action").body, "type")
            .to_string()
            .contains("AbortIncompleteMultipartUpload")
            && attribute(&block(&rule.body, "condition").body, "age").to_string()
                == "var.abort_uploads_after_days"
    });
    assert!(aborts);
}

#[test]
fn storage_rights_are_scoped_to_the_bucket() {
    let main = terraform("main.tf");
    let binding = &resource(&main, "google_storage_bucket_iam_member", "job_objects").body;
    assert_eq!(attribute(binding, "bucket").to_string(), "google_storage_bucket.lake.name");
    assert!(attribute(binding, "member").to_string().contains("google_service_account.job.email"));
    for resource in blocks(&main, "resource") {
        let kind = resource.labels()[0].as_str();
        if kind.starts_with("google_project_iam") {
            let role = attribute(&resource.body, "role").to_string();
            assert!(!role.contains("storage"), "project-wide storage role granted: {role}");
        }
    }
}
