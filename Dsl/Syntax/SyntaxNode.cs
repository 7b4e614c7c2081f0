using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    /// <summary>Every syntax node records the span of source text it was parsed from.</summary>
    public abstract record SyntaxNode(TextSpan Span);

    /// <summary>A name as written, with its own span (used for "'hiden' is not defined" squiggles).</summary>
    public sealed record Identifier(string Text, TextSpan Span) : SyntaxNode(Span)
    {
        public override string ToString() => Text;
    }
}
