// AXI4 write master: one command (byte address, beat count) becomes INCR bursts of at most
// MAX_BURST beats within 4 KiB pages; each burst's address goes out, then its data beats from
// the input stream (full strobes); busy stays high until every write response is back.
module ivit_engine_wdma #(
    parameter int DATA_W    = 512,
    parameter int ADDR_W    = 64,
    parameter int MAX_BURST = 64
) (
    input  logic                clk,
    input  logic                rst,
    input  logic                cmd_valid,
    output logic                cmd_ready,
    input  logic [ADDR_W-1:0]   cmd_addr,
    input  logic [31:0]         cmd_beats,
    input  logic                in_valid,
    output logic                in_ready,
    input  logic [DATA_W-1:0]   in_data,
    output logic                busy,
    // AXI4 write channels
    output logic                awvalid,
    input  logic                awready,
    output logic [ADDR_W-1:0]   awaddr,
    output logic [7:0]          awlen,
    output logic [2:0]          awsize,
    output logic [1:0]          awburst,
    output logic [0:0]          awid,
    output logic                wvalid,
    input  logic                wready,
    output logic [DATA_W-1:0]   wdata,
    output logic [DATA_W/8-1:0] wstrb,
    output logic                wlast,
    input  logic                bvalid,
    output logic                bready,
    input  logic [0:0]          bid,
    input  logic [1:0]          bresp
);
    localparam int BYTES = DATA_W / 8;
    localparam int LB = $clog2(BYTES);
    localparam int PAGE_BEATS = 4096 / BYTES;
    localparam int MAXB = MAX_BURST < PAGE_BEATS ? MAX_BURST : PAGE_BEATS;

    logic [ADDR_W-1:0] next_addr;
    logic [31:0] req_left, page_left, burst, w_left, b_left;
    logic in_burst;

    assign awsize  = 3'(LB);
    assign awburst = 2'b01;
    assign awid    = 1'b0;
    assign wstrb   = '1;
    assign bready  = 1'b1;
    assign wdata   = in_data;
    assign wvalid  = in_burst && in_valid;
    assign in_ready = in_burst && wready;
    assign wlast   = (w_left == 1);
    assign busy    = (req_left != 0) || in_burst || awvalid || (b_left != 0);
    assign cmd_ready = !busy;

    assign page_left = 32'(PAGE_BEATS) - 32'(next_addr[11:LB]);
    always_comb begin
        burst = req_left;
        if (burst > page_left) burst = page_left;
        if (burst > 32'(MAXB)) burst = 32'(MAXB);
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            awvalid <= 1'b0; req_left <= '0; awaddr <= '0; awlen <= '0; next_addr <= '0;
            w_left <= '0; b_left <= '0; in_burst <= 1'b0;
        end else begin
            if (cmd_valid && cmd_ready) begin
                next_addr <= cmd_addr;
                req_left  <= cmd_beats;
            end else if (!awvalid && !in_burst && req_left != 0) begin
                awvalid   <= 1'b1;
                awaddr    <= next_addr;
                awlen     <= 8'(burst - 1);
                w_left    <= burst;
                next_addr <= next_addr + (ADDR_W'(burst) << LB);
                req_left  <= req_left - burst;
            end
            if (awvalid && awready) begin
                awvalid  <= 1'b0;
                in_burst <= 1'b1;
            end
            if (wvalid && wready) begin
                w_left <= w_left - 1;
                if (w_left == 1) in_burst <= 1'b0;
            end
            // one response per burst: counted up when its address goes, down when it returns
            case ({awvalid && awready, bvalid})
                2'b10: b_left <= b_left + 1;
                2'b01: b_left <= b_left - 1;
                default: ;
            endcase
        end
    end

    logic unused;
    assign unused = ^{bid, bresp};
endmodule
