using System.Collections.Generic;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    /// <summary>What every model in a file shares: the text, the config constants and the block definitions.</summary>
    internal sealed class FileContext
    {
        public FileContext(SourceText text, Scope constants, IReadOnlyDictionary<string, BlockSyntax> blocks, SuggestionBudget? suggestions = null)
        {
            Suggestions = suggestions ?? new SuggestionBudget();
            Text = text;
            Constants = constants;
            Blocks = blocks;
        }

        public SourceText Text { get; }
        public Scope Constants { get; }
        public IReadOnlyDictionary<string, BlockSyntax> Blocks { get; }

        /// <summary>The "did you mean" work this file may still do (shared by every model in it).</summary>
        public SuggestionBudget Suggestions { get; }

        public int Line(TextSpan span) => Text.GetLinePosition(span.Start).Line + 1;

        /// <summary>The source text of a node without whitespace: the label of a computed constant (<c>4*d</c>).</summary>
        public string Compact(TextSpan span)
        {
            var s = Text.ToString(span);
            var sb = new System.Text.StringBuilder(s.Length);
            foreach (char c in s)
            {
                if (!char.IsWhiteSpace(c)) sb.Append(c);
            }
            return sb.Length > 80 ? sb.ToString(0, 77) + "..." : sb.ToString();
        }
    }
}
