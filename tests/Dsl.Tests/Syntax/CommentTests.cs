using System.Linq;
using ModelDsl.Syntax;
using static ModelDsl.Dsl.Tests.Syntax.SyntaxTestHelpers;

namespace ModelDsl.Dsl.Tests.Syntax
{
    public sealed class CommentTests
    {
        [Fact]
        public void Line_and_block_comments_are_whitespace_anywhere()
        {
            var (model, text) = ParseModel(
                "// leading\n" +
                "h /* a */ = /* b */ x -> // line\n" +
                "    dense(/* units */ 10, bias /* c */ = false) /* d */ -> relu\n" +
                "/* multi\n line { ( [ */ output h // end\n");
            Assert.Equal(2, model.Body.Count);
            var binding = Assert.IsType<BindingSyntax>(model.Body[0]);
            Assert.Equal("chain(x -> dense(10, bias=false) -> relu)", Show(binding.Value));
            Assert.EndsWith("-> relu", text.ToString(binding.Span));
            Assert.Equal("h", text.ToString(binding.Name.Span));
            Assert.IsType<OutputSyntax>(model.Body[1]);
        }

        [Fact]
        public void Comment_only_file_has_no_declarations()
        {
            var (file, diagnostics, _) = ParseFile("// nothing\n/* here */\n");
            Assert.Empty(file.Declarations);
            Assert.Equal("MDL0006", Assert.Single(diagnostics).Id);
        }

        [Fact]
        public void Brackets_inside_comments_do_not_count_for_nesting()
        {
            var (file, diagnostics, _) = ParseFile("// " + new string('(', 200) + "\n/* " + new string('[', 200) + " */\nmodel M { }");
            Assert.Equal(0, diagnostics.Count);
            Assert.Single(file.Declarations.OfType<ModelSyntax>());
        }
    }
}
