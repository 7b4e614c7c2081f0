using System.Text;

namespace ModelDsl.Emit
{
    /// <summary>
    /// A small indented text writer for generated code (STJ's SourceWriter): deterministic, '\n' line endings,
    /// four-space indentation, no trailing whitespace.
    /// </summary>
    public sealed class CodeWriter
    {
        private readonly StringBuilder _text = new StringBuilder();

        public int Indent { get; set; }

        public CodeWriter Line(string line = "")
        {
            if (line.Length == 0)
            {
                _text.Append('\n');
                return this;
            }
            _text.Append(' ', Indent * 4).Append(line).Append('\n');
            return this;
        }

        /// <summary>A preprocessor directive: always at column 0, as C# requires for readability.</summary>
        public CodeWriter Directive(string line)
        {
            _text.Append(line).Append('\n');
            return this;
        }

        /// <summary>Writes <paramref name="line"/> (if any), then an opening brace, and indents.</summary>
        public CodeWriter Open(string line)
        {
            if (line.Length > 0) Line(line);
            Line("{");
            Indent++;
            return this;
        }

        public CodeWriter Close(string suffix = "")
        {
            Indent--;
            Line("}" + suffix);
            return this;
        }

        public override string ToString() => _text.ToString();
    }
}
