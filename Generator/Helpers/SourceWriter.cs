using System;
using System.Text;
using Microsoft.CodeAnalysis.Text;

namespace ModelDsl.Generator.Helpers
{
    /// <summary>
    /// A small indented text writer for generated C# (shaped like STJ's Helpers/SourceWriter.cs):
    /// four spaces per level, <c>\n</c> line endings whatever the host OS, so output is byte-for-byte deterministic.
    /// </summary>
    internal sealed class SourceWriter
    {
        private const char IndentationChar = ' ';
        private const int CharsPerIndentation = 4;

        private readonly StringBuilder _builder = new StringBuilder();
        private int _indentation;

        public int Indentation
        {
            get => _indentation;
            set
            {
                if (value < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(value));
                }

                _indentation = value;
            }
        }

        public void WriteLine(char value)
        {
            AddIndentation();
            _builder.Append(value);
            _builder.Append('\n');
        }

        /// <summary>Writes text that may span several lines, indenting each line (blank lines stay empty).</summary>
        public void WriteLine(string text)
        {
            foreach (string line in text.Replace("\r\n", "\n").Split('\n'))
            {
                if (line.Length > 0)
                {
                    AddIndentation();
                    _builder.Append(line);
                }

                _builder.Append('\n');
            }
        }

        public void WriteLine() => _builder.Append('\n');

        /// <summary>Writes <c>{</c> and indents one level.</summary>
        public void OpenBlock(string suffix = "")
        {
            WriteLine("{" + suffix);
            Indentation++;
        }

        /// <summary>Unindents one level and writes <c>}</c> with an optional suffix (<c>;</c>, <c>,</c>).</summary>
        public void CloseBlock(string suffix = "")
        {
            Indentation--;
            WriteLine("}" + suffix);
        }

        public SourceText ToSourceText()
        {
            if (_indentation != 0)
            {
                throw new InvalidOperationException("Unbalanced indentation in generated source.");
            }

            return SourceText.From(_builder.ToString(), Encoding.UTF8);
        }

        public override string ToString() => _builder.ToString();

        private void AddIndentation() => _builder.Append(IndentationChar, CharsPerIndentation * _indentation);
    }
}
