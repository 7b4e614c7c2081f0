using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.Syntax;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>All independent errors in one pass; one error per mistake; good code around errors still parses.</summary>
    public sealed class RecoveryTests
    {
        private const string ThreeErrors =
            "model M {\n" +
            "    input x: f32[B, 4]\n" +
            "    a = dense(x, ⟦)⟧\n" +
            "    b = x -> relu\n" +
            "    c = ⟦*⟧ b\n" +
            "    d = b -> dense(2 ⟦3⟧)\n" +
            "    output d\n" +
            "}\n";

        [Fact]
        public void Three_broken_statements_give_three_errors()
        {
            var d = AssertSyntaxDiagnostics(ThreeErrors, "MDL0001", "MDL0001", "MDL0001");
            Assert.Equal("unexpected ')'; expected expression", d[0].Message);
            Assert.Equal("unexpected '*'; expected expression", d[1].Message);
            Assert.Equal("unexpected '3'; expected ')'", d[2].Message);
        }

        [Fact]
        public void Good_statements_between_errors_still_parse()
        {
            var (file, _, text) = ParseFile(AnnotatedText.Parse(ThreeErrors).Text);
            var model = Assert.IsType<ModelSyntax>(Assert.Single(file.Declarations));
            Assert.Equal(
                new[] { "InputSyntax", "ErrorStatementSyntax", "BindingSyntax", "ErrorStatementSyntax", "ErrorStatementSyntax", "OutputSyntax" },
                model.Body.Select(s => s.GetType().Name));
            Assert.Equal("a = dense(x, )", text.ToString(model.Body[1].Span));
            Assert.Equal("b = x -> relu", text.ToString(model.Body[2].Span));
            Assert.Equal("output d", text.ToString(model.Body[5].Span));
        }

        [Fact]
        public void A_broken_multi_line_call_is_one_error()
        {
            AssertSyntaxDiagnostics(
                "model M {\n" +
                "    a = dense(x ⟦10⟧,\n" +
                "              bias=false,\n" +
                "              tie=t.weight)\n" +
                "    output a\n" +
                "}\n", "MDL0001");
        }

        [Fact]
        public void Continuation_lines_of_a_broken_chain_are_skipped()
        {
            var (file, diagnostics, _) = ParseFile(
                "model M {\n" +
                "    a = x -> dense(10) -> ⟦?⟧\n".Replace("⟦", "").Replace("⟧", "") +
                "          -> relu\n" +
                "          -> dense(2)\n" +
                "    output a\n" +
                "}\n");
            Assert.Equal("MDL0001", Assert.Single(diagnostics).Id);
            var model = Assert.IsType<ModelSyntax>(Assert.Single(file.Declarations));
            Assert.IsType<ErrorStatementSyntax>(model.Body[0]);
            Assert.IsType<OutputSyntax>(model.Body[1]);
        }

        [Fact]
        public void Errors_in_several_declarations_are_all_reported()
        {
            AssertSyntaxDiagnostics(
                "config {\n    d = ⟦=⟧ 4\n    e = 2\n}\n" +
                "block B(x, ⟦1⟧) {\n    return x\n}\n" +
                "model M {\n    a = x + ⟦+⟧ 1\n    output a\n}\n",
                "MDL0001", "MDL0001", "MDL0001");
        }

        [Fact]
        public void A_broken_declaration_header_skips_to_the_next_declaration()
        {
            var (file, diagnostics, _) = ParseFile("model ⟦{⟧\n    a = 1\n}\nmodel Good {\n    output x\n}\n".Replace("⟦", "").Replace("⟧", ""));
            Assert.Equal("MDL0001", Assert.Single(diagnostics).Id);
            Assert.Equal("Good", Assert.IsType<ModelSyntax>(Assert.Single(file.Declarations)).Name.Text);
        }

        [Fact]
        public void A_missing_closing_brace_is_reported_where_the_next_declaration_starts()
        {
            var d = AssertSyntaxDiagnostics("model A {\n    output x\n⟦model⟧ B {\n    output y\n}\n", "MDL0001");
            Assert.Equal("unexpected 'model'; expected '}'", d[0].Message);
            var (file, _, _) = ParseFile(AnnotatedText.Parse("model A {\n    output x\nmodel B {\n    output y\n}\n").Text);
            Assert.Equal(new[] { "A", "B" }, file.Declarations.OfType<ModelSyntax>().Select(m => m.Name.Text));
        }

        [Fact]
        public void An_error_at_end_of_file_is_reported_once()
        {
            var d = AssertSyntaxDiagnostics("model M {\n    a = dense(x,\n⟦⟧", "MDL0001");
            Assert.Equal("unexpected end of file; expected expression", d[0].Message);
        }

        [Fact]
        public void A_stray_closing_brace_at_top_level()
        {
            var d = AssertSyntaxDiagnostics("model M {\n    output x\n}\n⟦}⟧\n", "MDL0001");
            Assert.Equal("unexpected '}'; expected 'config', 'block' or 'model'", d[0].Message);
        }

        [Fact]
        public void An_unterminated_comment_is_named()
        {
            var d = AssertSyntaxDiagnostics("model M {\n    output x\n⟦/*⟧ never closed\n", "MDL0001");
            Assert.Equal("unexpected '/*' (a comment that is never closed); expected '}'", d[0].Message);
        }

        [Fact]
        public void Every_line_of_garbage_is_at_most_one_error()
        {
            string body = string.Concat(Enumerable.Range(0, 50).Select(i => $"    a{i} = ) ( ] [ , ,\n"));
            var (_, diagnostics, _) = ParseFile("model M {\n" + body + "    output x\n}\n");
            Assert.Equal(50, diagnostics.Count);
            Assert.All(diagnostics, d => Assert.Equal("MDL0001", d.Id));
        }
    }
}
