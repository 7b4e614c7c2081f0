using System.Collections.Generic;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    /// <summary>A whole <c>.model</c> file: config sections, block definitions and models, in source order.</summary>
    public sealed record ModelFileSyntax(IReadOnlyList<DeclarationSyntax> Declarations, TextSpan Span) : SyntaxNode(Span);

    public abstract record DeclarationSyntax(TextSpan Span) : SyntaxNode(Span);

    /// <summary><c>config { hidden = 256  lr = 1e-3 }</c></summary>
    public sealed record ConfigSyntax(IReadOnlyList<ConfigEntrySyntax> Entries, TextSpan Span) : DeclarationSyntax(Span);

    /// <summary><c>hidden = 256</c> inside a config section.</summary>
    public sealed record ConfigEntrySyntax(Identifier Name, ExpressionSyntax Value, TextSpan Span) : SyntaxNode(Span);

    /// <summary><c>block TransformerBlock(x, d, heads, causal = true) { ... return y }</c>; the first parameter receives the input tensor.</summary>
    public sealed record BlockSyntax(Identifier Name, IReadOnlyList<BlockParameterSyntax> Parameters, IReadOnlyList<StatementSyntax> Body, TextSpan Span) : DeclarationSyntax(Span);

    /// <summary>
    /// A block parameter with an optional default value, or a tensor parameter with its type (<c>mask: i32[B, T]</c>,
    /// <see cref="Type"/>): an untyped parameter after the first is a constant.
    /// </summary>
    public sealed record BlockParameterSyntax(Identifier Name, ExpressionSyntax? Default, TextSpan Span, TensorTypeSyntax? Type = null) : SyntaxNode(Span);

    /// <summary><c>model FashionMlp { input x: f32[B, 784] ... }</c></summary>
    public sealed record ModelSyntax(Identifier Name, IReadOnlyList<StatementSyntax> Body, TextSpan Span) : DeclarationSyntax(Span);
}
