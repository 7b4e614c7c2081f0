using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    /// <summary>One test per diagnostic the text checks and the parser own, with the span marked and the message checked.</summary>
    public sealed class SyntaxDiagnosticTests
    {
        /// <summary>A complete model around <paramref name="line"/>, so only the line under test can be wrong.</summary>
        internal static string InModel(string line) =>
            "model M {\n" +
            "    input x: f32[B, 4]\n" +
            "    label y: f32[B, 2]\n" +
            "    " + line + "\n" +
            "    h = x -> dense(2)\n" +
            "    output h\n" +
            "    loss mse(h, y)\n" +
            "    optimizer sgd(lr=0.1)\n" +
            "}\n";

        [Fact]
        public void MDL0001_syntax_error_names_what_was_found_and_expected()
        {
            var d = AssertSyntaxDiagnostics(InModel("a = x -> dense(2, ⟦)⟧"), "MDL0001");
            Assert.Equal("unexpected ')'; expected expression", d[0].Message);
        }

        [Theory]
        [InlineData("a = ⟦)⟧", "unexpected ')'; expected expression")]
        [InlineData("a = x -> ⟦3⟧", "unexpected '3'; expected layer")]
        [InlineData("a = dense(2 ⟦3⟧)", "unexpected '3'; expected ')'")]
        [InlineData("output ⟦=⟧ 3", "unexpected '='; expected expression")]
        [InlineData("⟦relu⟧ x", "unexpected 'relu'; expected statement")]
        [InlineData("input x ⟦f32⟧[B]", "unexpected 'f32'; expected ':'")]
        [InlineData("a = ⟦repeat⟧ 3", "unexpected 'repeat'; expected expression")]
        [InlineData("a = [1, 2 ⟦)⟧", "unexpected ')'; expected ']'")]
        [InlineData("a = x -> repeat ⟦+⟧ relu", "unexpected '+'; expected repeat count")]
        [InlineData("loss mse ⟦+⟧ 1", "unexpected '+'; expected '('")]
        [InlineData("a = 1 ⟦$⟧ 2", "unexpected '$'; expected statement")]
        public void MDL0001_messages(string line, string message)
        {
            var d = AssertSyntaxDiagnostics(InModel(line), "MDL0001");
            Assert.Equal(message, d[0].Message);
        }

        [Fact]
        public void MDL0001_at_end_of_file_is_zero_length_at_the_end()
        {
            var d = AssertSyntaxDiagnostics("model M {\n    output x\n⟦⟧", "MDL0001");
            Assert.Equal("unexpected end of file; expected '}'", d[0].Message);
        }

        [Fact]
        public void MDL0002_integer_does_not_fit_in_64_bits()
        {
            var d = AssertSyntaxDiagnostics(InModel("a = x -> dense(⟦9223372036854775808⟧)"), "MDL0002");
            Assert.Equal("integer literal '9223372036854775808' does not fit in 64 bits", d[0].Message);
        }

        [Fact]
        public void MDL0002_real_overflows_to_infinity_and_parsing_continues()
        {
            var d = AssertSyntaxDiagnostics(
                "config {\n    lr = ⟦1e999⟧\n    big = ⟦99999999999999999999⟧\n}\n" + InModel("a = x -> dense(2 ⟦3⟧)"),
                "MDL0002", "MDL0002", "MDL0001");
            Assert.Equal("real literal '1e999' is too large: it is not a finite number", d[0].Message);
        }

        [Fact]
        public void MDL0003_brackets_nested_too_deep_at_the_first_bracket_beyond_the_limit()
        {
            // The model's '{' is level 1, so the 64th '(' is level 65.
            string source = "model M {\n    a = " + new string('(', 63) + "⟦(⟧1" + new string(')', 64) + "\n}\n";
            var d = AssertSyntaxDiagnostics(source, "MDL0003");
            Assert.Equal("brackets are nested more than 64 levels deep", d[0].Message);
        }

        [Fact]
        public void MDL0003_expression_too_deep()
        {
            string sum = string.Join("+", Enumerable.Repeat("1", 300));
            var d = AssertSyntaxDiagnostics(InModel("a = ⟦1⟧" + sum.Substring(1)), "MDL0003");
            Assert.Equal("expression is nested more than 256 levels deep; split it into several bindings", d[0].Message);
        }

        [Fact]
        public void MDL0004_not_text_points_at_the_first_bad_character()
        {
            var d = AssertSyntaxDiagnostics("model M {\n    a = 1⟦\u0000⟧\u0001\n}\n", "MDL0004");
            Assert.Equal("file is not valid UTF-8 text: character U+0000 at line 2, column 10", d[0].Message);
        }

        [Theory]
        [InlineData('\uFFFD')]
        [InlineData('\u0007')]
        [InlineData('\u007F')]
        [InlineData('\uD800')]
        public void MDL0004_other_bad_characters(char bad)
        {
            AssertSyntaxDiagnostics("model M { ⟦" + bad + "⟧ }", "MDL0004");
        }

        [Fact]
        public void MDL0004_allows_tab_cr_lf_bom_and_non_ascii()
        {
            var result = Compilation.Compile("test.model", "\uFEFF// héllo 😀\r\nmodel M {\t}\r\n");
            Assert.Empty(SyntaxDiagnostics(result));
        }

        [Fact]
        public void MDL0005_file_too_large()
        {
            string line = "a = 1\n";
            string big = "model M {\n" + string.Concat(Enumerable.Repeat(line, 1024 * 1024 / line.Length + 1)) + "}\n";
            var d = AssertSyntaxDiagnostics("⟦⟧" + big, "MDL0005");
            Assert.StartsWith("file is too large: 1,048,", d[0].Message);
            Assert.EndsWith("bytes; the limit is 1,048,576 bytes (1 MiB)", d[0].Message);
        }

        [Fact]
        public void MDL0006_file_declares_no_model()
        {
            var d = AssertSyntaxDiagnostics("⟦⟧config {\n    d = 4\n}\nblock B(x) {\n    return x\n}\n", "MDL0006");
            Assert.Equal("file declares no model, so no class is generated; add 'model Name { ... }'", d[0].Message);
            Assert.False(d[0].IsError);
        }

        [Fact]
        public void MDL0006_is_not_reported_on_top_of_a_syntax_error()
        {
            AssertSyntaxDiagnostics("model ⟦{⟧\n}\n", "MDL0001");
        }
    }
}
