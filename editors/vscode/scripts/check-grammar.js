// Tokenise rule files with the TextMate grammar exactly as VS Code does (vscode-textmate and the
// Oniguruma regex engine) and fail on any token marked invalid or any region left open at the end
// of a line. Usage: node scripts/check-grammar.js FILE.policy...
"use strict";

const fs = require("fs");
const path = require("path");
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

async function main(files) {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () =>
      textmate.parseRawGrammar(
        fs.readFileSync(path.join(__dirname, "..", "syntaxes", "carepolicy.tmLanguage.json"), "utf8"),
        "carepolicy.tmLanguage.json"
      ),
  });
  const grammar = await registry.loadGrammar("source.carepolicy");
  let problems = 0;
  let tokens = 0;
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let stack = textmate.INITIAL;
    lines.forEach((line, index) => {
      const result = grammar.tokenizeLine(line, stack);
      for (const token of result.tokens) {
        tokens += 1;
        if (token.scopes.some((scope) => scope.startsWith("invalid"))) {
          problems += 1;
          console.log(`${file}:${index + 1}:${token.startIndex + 1}: invalid token ${JSON.stringify(line.slice(token.startIndex, token.endIndex))}`);
        }
      }
      if (result.ruleStack.depth !== 1) {  // 1: only the grammar's root rule is on the stack
        problems += 1;
        console.log(`${file}:${index + 1}: a region is still open at the end of the line`);
      }
      stack = result.ruleStack;
    });
  }
  console.log(`${files.length} files, ${tokens} tokens, ${problems} problems`);
  process.exitCode = problems ? 1 : 0;
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
