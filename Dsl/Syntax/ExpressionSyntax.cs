using System.Collections.Generic;
using ModelDsl.Text;

namespace ModelDsl.Syntax
{
    /// <summary>
    /// Expressions serve both worlds: numbers and config arithmetic (<c>4*d</c>, <c>d/heads</c>) and tensor
    /// dataflow (<c>x + a</c>, <c>x -> dense(10)</c>). The binder decides which one each node is.
    /// </summary>
    public abstract record ExpressionSyntax(TextSpan Span) : SyntaxNode(Span);

    /// <summary>An integer (<c>256</c>) or real (<c>1e-3</c>, <c>0.9</c>) literal as written.</summary>
    public sealed record NumberSyntax(string Text, double Value, bool IsInteger, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>"same"</c>: a string argument value; <see cref="Value"/> is the text between the quotes.</summary>
    public sealed record StringSyntax(string Value, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>true</c> or <c>false</c>.</summary>
    public sealed record BooleanSyntax(bool Value, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary>A reference to a config constant, block parameter, input or binding; in a chain, a layer without arguments (<c>relu</c>).</summary>
    public sealed record NameSyntax(Identifier Name, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>tok.weight</c>: a parameter of a named layer (used for weight tying).</summary>
    public sealed record MemberAccessSyntax(ExpressionSyntax Target, Identifier Member, TextSpan Span) : ExpressionSyntax(Span);

    public enum BinaryOperator
    {
        Add,
        Subtract,
        Multiply,
        Divide,
    }

    /// <summary><c>a + b</c>, <c>4*d</c>, <c>d/heads</c>.</summary>
    public sealed record BinarySyntax(ExpressionSyntax Left, BinaryOperator Operator, ExpressionSyntax Right, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>-x</c></summary>
    public sealed record NegateSyntax(ExpressionSyntax Operand, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>(0.9, 0.999)</c>: a tuple of values, e.g. Adam's betas or a kernel size.</summary>
    public sealed record TupleSyntax(IReadOnlyList<ExpressionSyntax> Elements, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>[B, T, heads, d/heads]</c>: a list of dimensions, e.g. reshape's target.</summary>
    public sealed record ListSyntax(IReadOnlyList<ExpressionSyntax> Elements, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>dense(x, 10, bias=false)</c>: a layer, block, loss or optimizer applied to arguments.</summary>
    public sealed record CallSyntax(Identifier Callee, IReadOnlyList<ArgumentSyntax> Arguments, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary>A positional (<see cref="Name"/> null) or named (<c>bias=false</c>) argument.</summary>
    public sealed record ArgumentSyntax(Identifier? Name, ExpressionSyntax Value, TextSpan Span) : SyntaxNode(Span);

    /// <summary>
    /// <c>x -> dense(256) -> relu -> dense(10)</c>: each stage receives the previous value as its first argument.
    /// A stage is a <see cref="CallSyntax"/>, a <see cref="NameSyntax"/> (a layer with no arguments) or a <see cref="RepeatSyntax"/>.
    /// </summary>
    public sealed record ChainSyntax(ExpressionSyntax Source, IReadOnlyList<ExpressionSyntax> Stages, TextSpan Span) : ExpressionSyntax(Span);

    /// <summary><c>repeat layers TransformerBlock(d, heads)</c>: the stage applied <see cref="Count"/> times, each with its own parameters.</summary>
    public sealed record RepeatSyntax(ExpressionSyntax Count, ExpressionSyntax Stage, TextSpan Span) : ExpressionSyntax(Span);
}
