#!/usr/bin/env bash
# Deploys mouvements-gen to GCP as a Cloud Run job: checks the prerequisites, creates the
# image repository, builds and pushes the image (linux/amd64, what Cloud Run runs), applies
# the Terraform (bucket, lifecycle rules, service account, job), and with --execute runs the
# job once and waits. Safe to run again: every step converges on the same state.
#
# Usage: GCP_PROJECT_ID=my-project BUCKET_NAME=my-lake ./deploy.sh [--execute]
#   GCP_REGION   region (default europe-west1), used when terraform.tfvars is first written
#   IMAGE_TAG    image tag (default: the current git commit, else "latest")
# Once terraform/terraform.tfvars exists, it alone says which project, region and bucket to
# deploy to: a shell pointing at another project is refused, never applied.
set -euo pipefail

cd "$(dirname "$0")"
execute=false
for arg in "$@"; do
  case "$arg" in
    --execute) execute=true ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown argument '$arg' (expected --execute)" >&2; exit 2 ;;
  esac
done

fail() { echo "deploy.sh: $*" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is required: $2"; }
# The value of `name = "value"` in terraform.tfvars.
tfvar() { sed -n "s/^$1 *= *\"\\(.*\\)\".*/\\1/p" terraform/terraform.tfvars | head -n 1; }

need gcloud "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)"
need terraform "install Terraform 1.5 or later (https://developer.hashicorp.com/terraform/install)"
need docker "install Docker and start its daemon"
docker info >/dev/null 2>&1 || fail "the Docker daemon is not running: start it, then run deploy.sh again"

account=$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null || true)
[ -n "$account" ] || fail "no authenticated gcloud account: run 'gcloud auth login' and 'gcloud auth application-default login'"

if [ ! -f terraform/terraform.tfvars ]; then
  project=${GCP_PROJECT_ID:-$(gcloud config get-value project 2>/dev/null || true)}
  [ -n "$project" ] || fail "no project: set GCP_PROJECT_ID or run 'gcloud config set project PROJECT_ID'"
  region=${GCP_REGION:-europe-west1}
  bucket=${BUCKET_NAME:-}
  [ -n "$bucket" ] || fail "no terraform/terraform.tfvars yet: set BUCKET_NAME (the lake bucket to create) or copy terraform.tfvars.example"
  sed -e "s/^project_id .*/project_id  = \"$project\"/" \
      -e "s/^region .*/region      = \"$region\"/" \
      -e "s/^bucket_name .*/bucket_name = \"$bucket\"/" \
      terraform/terraform.tfvars.example > terraform/terraform.tfvars
  echo "deploy.sh: wrote terraform/terraform.tfvars; edit it to change rows, shards, tasks or write_mode"
fi
project=$(tfvar project_id)
region=$(tfvar region)
if [ -z "$project" ] || [ -z "$region" ]; then
  fail "terraform/terraform.tfvars must set project_id and region"
fi
for pair in "GCP_PROJECT_ID:$project" "GCP_REGION:$region"; do
  name=${pair%%:*}
  wanted=${pair#*:}
  given=${!name:-}
  if [ -n "$given" ] && [ "$given" != "$wanted" ]; then
    fail "$name=$given but terraform/terraform.tfvars deploys to $wanted: unset $name, or edit the tfvars to move the deployment"
  fi
done
tag=${IMAGE_TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo latest)}
echo "deploy.sh: project $project, region $region, account $account, image tag $tag"

cd terraform
terraform init -input=false
# The repository and APIs first: the image must exist before the job refers to it.
terraform apply -input=false -auto-approve -var "image_tag=$tag" \
  -target=google_project_service.apis -target=google_artifact_registry_repository.images
image=$(terraform output -raw image 2>/dev/null || echo "$region-docker.pkg.dev/$project/mouvements/mouvements-gen:$tag")

gcloud auth configure-docker "$region-docker.pkg.dev" --quiet
docker build --platform linux/amd64 -t "$image" ..
docker push "$image"

terraform apply -input=false -auto-approve -var "image_tag=$tag"
job=$(terraform output -raw job_name)
echo "deploy.sh: lake $(terraform output -raw bucket_url)"
echo "deploy.sh: run the job with: $(terraform output -raw execute_command)"

if [ "$execute" = true ]; then
  # A new IAM binding takes up to a few minutes to reach every GCS front end: retry a failed
  # first execution a few times before giving up.
  for attempt in 1 2 3 4 5; do
    if gcloud run jobs execute "$job" --region "$region" --project "$project" --wait; then
      exit 0
    fi
    [ "$attempt" -lt 5 ] || fail "the execution failed 5 times: see 'gcloud run jobs executions list --job $job --region $region'"
    echo "deploy.sh: execution $attempt failed (IAM may still be propagating); retrying in 60 s" >&2
    sleep 60
  done
fi
