using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary><c>-&gt;</c> loosest, then <c>+ -</c>, then <c>* /</c>, then unary <c>-</c>, then calls and <c>.</c>; binary operators associate left.</summary>
    public sealed class PrecedenceTests
    {
        [Theory]
        [InlineData("1 + 2 * 3", "(1 + (2 * 3))")]
        [InlineData("1 * 2 + 3", "((1 * 2) + 3)")]
        [InlineData("a - b - c", "((a - b) - c)")]
        [InlineData("a / b / c", "((a / b) / c)")]
        [InlineData("a - b + c", "((a - b) + c)")]
        [InlineData("(a - b) * c", "((a - b) * c)")]
        [InlineData("-a * b", "((-a) * b)")]
        [InlineData("--a", "(-(-a))")]
        [InlineData("-a.b", "(-a.b)")]
        [InlineData("-f(x)", "(-f(x))")]
        [InlineData("a-b", "(a - b)")]
        [InlineData("a.b.c", "a.b.c")]
        [InlineData("x + a -> relu", "chain((x + a) -> relu)")]
        [InlineData("x -> dense(4*d) -> f", "chain(x -> dense((4 * d)) -> f)")]
        [InlineData("a->b", "chain(a -> b)")]
        [InlineData("a - -1", "(a - (-1))")]
        [InlineData("f(x -> relu, y)", "f(chain(x -> relu), y)")]
        public void Operators_bind_as_documented(string source, string expected)
        {
            Assert.Equal(expected, Show(ParseExpression(source).Expression));
        }
    }
}
