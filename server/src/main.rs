#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gridmap_server::cli::run(gridmap_server::cli::Cli::parse()).await
}
