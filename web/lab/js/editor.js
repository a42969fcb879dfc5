// The script editor: CodeMirror 5 (vendor/codemirror, the global `CodeMirror`) over a
// <textarea>, with Python highlighting, line numbers and tab handling. Tab indents; after
// Esc the next Tab (or Shift-Tab) leaves the editor, so keyboard users are never trapped.

/* global CodeMirror */

export function createEditor(textarea, { readOnly = false } = {}) {
  let escaped = false;
  const leave = (indent) => (editor) => {
    if (escaped) {
      escaped = false;
      return CodeMirror.Pass; // the browser moves focus, as from any field
    }
    return indent(editor);
  };
  const cm = CodeMirror.fromTextArea(textarea, {
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    matchBrackets: true,
    readOnly,
    viewportMargin: Infinity,
    extraKeys: {
      Tab: leave((editor) => {
        if (editor.somethingSelected()) editor.indentSelection("add");
        else editor.replaceSelection(" ".repeat(editor.getOption("indentUnit")), "end");
      }),
      "Shift-Tab": leave((editor) => editor.indentSelection("subtract")),
      Esc: () => {
        escaped = true;
      },
    },
  });
  cm.on("keydown", (_, event) => {
    if (event.key !== "Escape" && event.key !== "Tab" && event.key !== "Shift") escaped = false;
  });
  cm.on("blur", () => {
    escaped = false;
  });
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
    focus: () => cm.focus(),
    refresh: () => cm.refresh(),
  };
}
