// ivit_engine: the integer ViT accelerator top, with the ports of the Vitis HLS kernel
//   void ivit_top(const T* image, const int8_t* weights, int32_t* logits, int n_images)
// (ap_ctrl_hs on s_axi_control, image and logits on m_axi_gmem0, weights on m_axi_gmem1),
// so a host drives it as it drives the HLS kernel. See docs/rtl.md for the register map,
// the descriptor format and the block diagram.
module ivit_engine #(
    parameter int N         = 8,     // array rows = columns = vector lanes = buffer banks
    parameter int DATA_W    = 512,   // AXI4 data width of both masters
    parameter int SDEPTH    = 4096,  // activation buffer words per bank
    parameter int PDEPTH    = 128,   // weight panel beats per half
    parameter int CDEPTH    = 64,    // constant table beats per field
    parameter int MAX_BEATS = 32,    // longest LayerNorm / Shiftmax row, in N-lane words
    parameter int EXP_FORM  = 1,     // Shiftmax ShiftExp: 1 corrected, 0 the paper's
    parameter int GELU_FORM = 1,     // GELU unit: 1 "shift", 0 "symmetric"
    parameter int C_S_AXI_CONTROL_ADDR_WIDTH = 7
) (
    input  logic                ap_clk,
    input  logic                ap_rst_n,
    /* verilator lint_off SYMRSVDWORD */
    output logic                interrupt,
    /* verilator lint_on SYMRSVDWORD */
    // AXI4-Lite control
    input  logic                s_axi_control_AWVALID,
    output logic                s_axi_control_AWREADY,
    input  logic [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_AWADDR,
    input  logic                s_axi_control_WVALID,
    output logic                s_axi_control_WREADY,
    input  logic [31:0]         s_axi_control_WDATA,
    input  logic [3:0]          s_axi_control_WSTRB,
    output logic                s_axi_control_BVALID,
    input  logic                s_axi_control_BREADY,
    output logic [1:0]          s_axi_control_BRESP,
    input  logic                s_axi_control_ARVALID,
    output logic                s_axi_control_ARREADY,
    input  logic [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_ARADDR,
    output logic                s_axi_control_RVALID,
    input  logic                s_axi_control_RREADY,
    output logic [31:0]         s_axi_control_RDATA,
    output logic [1:0]          s_axi_control_RRESP,
    // AXI4 master gmem0: image (read), logits and trace (write)
    output logic                m_axi_gmem0_AWVALID,
    input  logic                m_axi_gmem0_AWREADY,
    output logic [63:0]         m_axi_gmem0_AWADDR,
    output logic [0:0]          m_axi_gmem0_AWID,
    output logic [7:0]          m_axi_gmem0_AWLEN,
    output logic [2:0]          m_axi_gmem0_AWSIZE,
    output logic [1:0]          m_axi_gmem0_AWBURST,
    output logic                m_axi_gmem0_WVALID,
    input  logic                m_axi_gmem0_WREADY,
    output logic [DATA_W-1:0]   m_axi_gmem0_WDATA,
    output logic [DATA_W/8-1:0] m_axi_gmem0_WSTRB,
    output logic                m_axi_gmem0_WLAST,
    input  logic                m_axi_gmem0_BVALID,
    output logic                m_axi_gmem0_BREADY,
    input  logic [1:0]          m_axi_gmem0_BRESP,
    input  logic [0:0]          m_axi_gmem0_BID,
    output logic                m_axi_gmem0_ARVALID,
    input  logic                m_axi_gmem0_ARREADY,
    output logic [63:0]         m_axi_gmem0_ARADDR,
    output logic [0:0]          m_axi_gmem0_ARID,
    output logic [7:0]          m_axi_gmem0_ARLEN,
    output logic [2:0]          m_axi_gmem0_ARSIZE,
    output logic [1:0]          m_axi_gmem0_ARBURST,
    input  logic                m_axi_gmem0_RVALID,
    output logic                m_axi_gmem0_RREADY,
    input  logic [DATA_W-1:0]   m_axi_gmem0_RDATA,
    input  logic                m_axi_gmem0_RLAST,
    input  logic [0:0]          m_axi_gmem0_RID,
    input  logic [1:0]          m_axi_gmem0_RRESP,
    // AXI4 master gmem1: weights, descriptors, constants (read only; write channels idle)
    output logic                m_axi_gmem1_AWVALID,
    input  logic                m_axi_gmem1_AWREADY,
    output logic [63:0]         m_axi_gmem1_AWADDR,
    output logic [0:0]          m_axi_gmem1_AWID,
    output logic [7:0]          m_axi_gmem1_AWLEN,
    output logic [2:0]          m_axi_gmem1_AWSIZE,
    output logic [1:0]          m_axi_gmem1_AWBURST,
    output logic                m_axi_gmem1_WVALID,
    input  logic                m_axi_gmem1_WREADY,
    output logic [DATA_W-1:0]   m_axi_gmem1_WDATA,
    output logic [DATA_W/8-1:0] m_axi_gmem1_WSTRB,
    output logic                m_axi_gmem1_WLAST,
    input  logic                m_axi_gmem1_BVALID,
    output logic                m_axi_gmem1_BREADY,
    input  logic [1:0]          m_axi_gmem1_BRESP,
    input  logic [0:0]          m_axi_gmem1_BID,
    output logic                m_axi_gmem1_ARVALID,
    input  logic                m_axi_gmem1_ARREADY,
    output logic [63:0]         m_axi_gmem1_ARADDR,
    output logic [0:0]          m_axi_gmem1_ARID,
    output logic [7:0]          m_axi_gmem1_ARLEN,
    output logic [2:0]          m_axi_gmem1_ARSIZE,
    output logic [1:0]          m_axi_gmem1_ARBURST,
    input  logic                m_axi_gmem1_RVALID,
    output logic                m_axi_gmem1_RREADY,
    input  logic [DATA_W-1:0]   m_axi_gmem1_RDATA,
    input  logic                m_axi_gmem1_RLAST,
    input  logic [0:0]          m_axi_gmem1_RID,
    input  logic [1:0]          m_axi_gmem1_RRESP
);
    logic rst;
    always_ff @(posedge ap_clk) rst <= !ap_rst_n;

    logic ap_start, core_take, core_done, core_idle;
    logic [63:0] arg_image, arg_weights, arg_logits, stat_cycles, stat_trace_cycles;
    logic [31:0] arg_n_images;

    ivit_engine_axil #(.ADDR_W(C_S_AXI_CONTROL_ADDR_WIDTH)) ctrl (
        .clk(ap_clk), .rst,
        .awvalid(s_axi_control_AWVALID), .awready(s_axi_control_AWREADY),
        .awaddr(s_axi_control_AWADDR), .wvalid(s_axi_control_WVALID),
        .wready(s_axi_control_WREADY), .wdata(s_axi_control_WDATA),
        .wstrb(s_axi_control_WSTRB), .bvalid(s_axi_control_BVALID),
        .bready(s_axi_control_BREADY), .bresp(s_axi_control_BRESP),
        .arvalid(s_axi_control_ARVALID), .arready(s_axi_control_ARREADY),
        .araddr(s_axi_control_ARADDR), .rvalid(s_axi_control_RVALID),
        .rready(s_axi_control_RREADY), .rdata(s_axi_control_RDATA),
        .rresp(s_axi_control_RRESP), .irq(interrupt),
        .ap_start, .core_take, .core_done, .core_idle,
        .arg_image, .arg_weights, .arg_logits, .arg_n_images, .stat_cycles, .stat_trace_cycles
    );

    logic r0_cmd_valid, r0_cmd_ready, r0_valid, r0_ready, r0_busy;
    logic r1_cmd_valid, r1_cmd_ready, r1_valid, r1_ready, r1_busy;
    logic w_cmd_valid, w_cmd_ready, w_valid, w_ready, w_busy;
    logic [63:0] r0_cmd_addr, r1_cmd_addr, w_cmd_addr;
    logic [31:0] r0_cmd_beats, r1_cmd_beats, w_cmd_beats;
    logic [DATA_W-1:0] r0_data, r1_data, w_data;

    ivit_engine_core #(.N(N), .DATA_W(DATA_W), .SDEPTH(SDEPTH), .PDEPTH(PDEPTH),
                       .CDEPTH(CDEPTH), .MAX_BEATS(MAX_BEATS), .EXP_FORM(EXP_FORM),
                       .GELU_FORM(GELU_FORM)) core (
        .clk(ap_clk), .rst, .ap_start, .core_take, .core_done, .core_idle,
        .arg_image, .arg_weights, .arg_logits, .arg_n_images, .stat_cycles, .stat_trace_cycles,
        .r0_cmd_valid, .r0_cmd_ready, .r0_cmd_addr, .r0_cmd_beats, .r0_valid, .r0_ready,
        .r0_data, .r1_cmd_valid, .r1_cmd_ready, .r1_cmd_addr, .r1_cmd_beats, .r1_valid,
        .r1_ready, .r1_data, .w_cmd_valid, .w_cmd_ready, .w_cmd_addr, .w_cmd_beats, .w_valid,
        .w_ready, .w_data, .w_busy
    );

    ivit_engine_rdma #(.DATA_W(DATA_W)) rd0 (
        .clk(ap_clk), .rst, .cmd_valid(r0_cmd_valid), .cmd_ready(r0_cmd_ready),
        .cmd_addr(r0_cmd_addr), .cmd_beats(r0_cmd_beats), .out_valid(r0_valid),
        .out_ready(r0_ready), .out_data(r0_data), .busy(r0_busy),
        .arvalid(m_axi_gmem0_ARVALID), .arready(m_axi_gmem0_ARREADY),
        .araddr(m_axi_gmem0_ARADDR), .arlen(m_axi_gmem0_ARLEN), .arsize(m_axi_gmem0_ARSIZE),
        .arburst(m_axi_gmem0_ARBURST), .arid(m_axi_gmem0_ARID), .rvalid(m_axi_gmem0_RVALID),
        .rready(m_axi_gmem0_RREADY), .rdata(m_axi_gmem0_RDATA), .rlast(m_axi_gmem0_RLAST),
        .rid(m_axi_gmem0_RID), .rresp(m_axi_gmem0_RRESP)
    );
    ivit_engine_rdma #(.DATA_W(DATA_W)) rd1 (
        .clk(ap_clk), .rst, .cmd_valid(r1_cmd_valid), .cmd_ready(r1_cmd_ready),
        .cmd_addr(r1_cmd_addr), .cmd_beats(r1_cmd_beats), .out_valid(r1_valid),
        .out_ready(r1_ready), .out_data(r1_data), .busy(r1_busy),
        .arvalid(m_axi_gmem1_ARVALID), .arready(m_axi_gmem1_ARREADY),
        .araddr(m_axi_gmem1_ARADDR), .arlen(m_axi_gmem1_ARLEN), .arsize(m_axi_gmem1_ARSIZE),
        .arburst(m_axi_gmem1_ARBURST), .arid(m_axi_gmem1_ARID), .rvalid(m_axi_gmem1_RVALID),
        .rready(m_axi_gmem1_RREADY), .rdata(m_axi_gmem1_RDATA), .rlast(m_axi_gmem1_RLAST),
        .rid(m_axi_gmem1_RID), .rresp(m_axi_gmem1_RRESP)
    );
    ivit_engine_wdma #(.DATA_W(DATA_W)) wr0 (
        .clk(ap_clk), .rst, .cmd_valid(w_cmd_valid), .cmd_ready(w_cmd_ready),
        .cmd_addr(w_cmd_addr), .cmd_beats(w_cmd_beats), .in_valid(w_valid),
        .in_ready(w_ready), .in_data(w_data), .busy(w_busy),
        .awvalid(m_axi_gmem0_AWVALID), .awready(m_axi_gmem0_AWREADY),
        .awaddr(m_axi_gmem0_AWADDR), .awlen(m_axi_gmem0_AWLEN), .awsize(m_axi_gmem0_AWSIZE),
        .awburst(m_axi_gmem0_AWBURST), .awid(m_axi_gmem0_AWID), .wvalid(m_axi_gmem0_WVALID),
        .wready(m_axi_gmem0_WREADY), .wdata(m_axi_gmem0_WDATA), .wstrb(m_axi_gmem0_WSTRB),
        .wlast(m_axi_gmem0_WLAST), .bvalid(m_axi_gmem0_BVALID), .bready(m_axi_gmem0_BREADY),
        .bid(m_axi_gmem0_BID), .bresp(m_axi_gmem0_BRESP)
    );

    // gmem1 only reads
    assign m_axi_gmem1_AWVALID = 1'b0;
    assign m_axi_gmem1_AWADDR  = '0;
    assign m_axi_gmem1_AWID    = '0;
    assign m_axi_gmem1_AWLEN   = '0;
    assign m_axi_gmem1_AWSIZE  = 3'($clog2(DATA_W / 8));
    assign m_axi_gmem1_AWBURST = 2'b01;
    assign m_axi_gmem1_WVALID  = 1'b0;
    assign m_axi_gmem1_WDATA   = '0;
    assign m_axi_gmem1_WSTRB   = '0;
    assign m_axi_gmem1_WLAST   = 1'b0;
    assign m_axi_gmem1_BREADY  = 1'b1;

    logic unused;
    assign unused = ^{r0_busy, r1_busy, m_axi_gmem1_AWREADY, m_axi_gmem1_WREADY,
                      m_axi_gmem1_BVALID, m_axi_gmem1_BRESP, m_axi_gmem1_BID};
endmodule
