// The VS Code side of carepolicy: start `carepolicy lsp` over stdio for .policy files.
// Everything the editor shows (diagnostics, hover, definition, completion, outline) comes from
// the server, which runs the same checker as `carepolicy check`.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("carepolicy");
  const command = config.get("server.command", "carepolicy");
  const args = config.get("server.args", ["lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "carepolicy" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.policy,sources.registry}") },
  };
  client = new LanguageClient("carepolicy", "carepolicy", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `carepolicy: cannot start \`${command} ${args.join(" ")}\` (${error.message}). ` +
        "Install it with pip install 'carepolicy[lsp]' or set carepolicy.server.command."
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
