// The script editor: CodeMirror 5 (vendor/codemirror, the global `CodeMirror`) over a
// <textarea>, with Python highlighting, line numbers and tab handling. Tab indents; after
// Esc the next Tab (or Shift-Tab) leaves the editor, so keyboard users are never trapped.

/* global CodeMirror */

export function createEditor(textarea) {
  const keys = {
    Tab: (editor) => {
      if (editor.somethingSelected()) editor.indentSelection("add");
      else editor.replaceSelection(" ".repeat(editor.getOption("indentUnit")), "end");
    },
    "Shift-Tab": (editor) => editor.indentSelection("subtract"),
    // false = CodeMirror leaves the key to the browser, which moves focus
    Esc: (editor) => editor.setOption("extraKeys", { ...keys, Tab: false, "Shift-Tab": false }),
  };
  const cm = CodeMirror.fromTextArea(textarea, {
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    matchBrackets: true,
    viewportMargin: Infinity,
    extraKeys: keys,
  });
  const reset = () => {
    if (cm.getOption("extraKeys") !== keys) cm.setOption("extraKeys", keys);
  };
  cm.on("keydown", (_, event) => {
    if (!["Escape", "Tab", "Shift"].includes(event.key)) reset();
  });
  cm.on("blur", reset);
  const input = cm.getInputField();
  for (const name of ["aria-labelledby", "aria-describedby"]) {
    if (textarea.getAttribute(name)) input.setAttribute(name, textarea.getAttribute(name));
  }
  return {
    get value() {
      return cm.getValue();
    },
    set value(text) {
      cm.setValue(text);
      cm.clearHistory();
    },
    set readOnly(on) {
      cm.setOption("readOnly", on);
    },
    focus: () => cm.focus(),
    refresh: () => cm.refresh(),
  };
}
